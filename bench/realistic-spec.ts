/**
 * A spec in the Kiro style, written for this benchmark: requirements.md, design.md and a tasks.md
 * of distinct prose tasks (no commands, none alike enough for the similar-plan cache), with phase
 * headings, `_Requirements:_` bullets, optional `[ ]*` tasks and a checkpoint. A few tasks change
 * a file an earlier task creates, so plans made ahead of them must be made again.
 */
const TASKS: { title: string; details: string[]; requirements: string; optional?: boolean }[] = [
  {
    title: 'Set up the package manifest in `package.json` for the reading-list service',
    details: ['Name it reading-list, private, type module'],
    requirements: '1.1',
  },
  {
    title: 'Write the configuration loader in `src/config/load.js`',
    details: ['Read PORT and DATA_DIR from the environment with defaults'],
    requirements: '1.2, 1.3',
  },
  {
    title: 'Create the HTTP application shell in `src/app.js`',
    details: ['Export a function that builds the server without listening'],
    requirements: '2.1',
  },
  {
    title: 'Define the bookmark model in `src/model/bookmark.js`',
    details: ['Fields: id, url, title, tags, savedAt', 'Validate the URL scheme'],
    requirements: '3.1-3.3',
  },
  {
    title: 'Implement the file-backed store in `src/store/file-store.js`',
    details: ['One JSON document per bookmark under DATA_DIR', 'Writes go to a temporary file first, then rename'],
    requirements: '4.1–4.4',
  },
  {
    title: 'Add tag normalisation in `src/model/tags.js`',
    details: ['Lower-case, trim, drop duplicates'],
    requirements: '3.4',
  },
  {
    title: 'Write property tests for tag normalisation in `test/tags.property.js`',
    details: ['**Property 1: normalising twice changes nothing**'],
    requirements: '3.4',
    optional: true,
  },
  {
    title: 'Expose the list endpoint in `src/routes/list.js`',
    details: ['GET /bookmarks with paging by cursor'],
    requirements: '5.1, 5.2',
  },
  {
    title: 'Expose the save endpoint in `src/routes/save.js`',
    details: ['POST /bookmarks; 400 on an invalid URL'],
    requirements: '5.3',
  },
  { title: 'Register both routes in `src/app.js`', details: ['Mount list and save under /api'], requirements: '2.2' },
  {
    title: 'Checkpoint - make sure the server starts with `src/server.js`',
    details: ['Ensure all tests pass, ask the user if questions arise.'],
    requirements: 'All',
  },
  {
    title: 'Add request logging in `src/middleware/log.js`',
    details: ['One line per request: method, path, status, duration'],
    requirements: '6.1',
  },
  {
    title: 'Add the search index in `src/search/index.js`',
    details: ['Token index over titles and tags, rebuilt on start'],
    requirements: '7.1, 7.2',
  },
  {
    title: 'Expose the search endpoint in `src/routes/search.js`',
    details: ['GET /search?q= returns the ten best matches'],
    requirements: '7.3',
  },
  {
    title: 'Document the HTTP API in `docs/api.md`',
    details: ['Every endpoint with an example request and reply'],
    requirements: '8.1',
  },
  {
    title: 'Add an import script in `scripts/import-netscape.js`',
    details: ['Reads a browser bookmarks export and saves each link'],
    requirements: '9.1, 9.2',
  },
  {
    title: 'Write unit tests for the file store in `test/file-store.test.js`',
    details: ['Cover the rename-after-write path'],
    requirements: '4.2',
    optional: true,
  },
  {
    title: 'Extend the configuration loader in `src/config/load.js` with SEARCH_LIMIT',
    details: ['Default 10, at most 100'],
    requirements: '7.4',
  },
  {
    title: 'Add a health endpoint in `src/routes/health.js`',
    details: ['GET /healthz answers 200 with the store status'],
    requirements: '6.2',
  },
  {
    title: 'Write the operations notes in `docs/operations.md`',
    details: ['Backups of DATA_DIR, log rotation, upgrades'],
    requirements: 'Operational readiness (non-functional)',
  },
];

export function realisticSpec(n = TASKS.length): { tasks: string; requirements: string; design: string } {
  const lines = [
    '# Implementation Plan',
    '',
    '## Overview',
    '',
    'Build the reading-list service step by step. Tasks marked `*` are optional.',
    '',
  ];
  TASKS.slice(0, n).forEach((task, i) => {
    if (i % 7 === 0) lines.push(`## Phase ${i / 7 + 1}`, '');
    lines.push(`- [ ]${task.optional ? '*' : ''} ${i + 1}. ${task.title}`);
    for (const d of task.details) lines.push(`  - ${d}`);
    lines.push(`  - _Requirements: ${task.requirements}_`, '');
  });
  const requirements = [
    '# Requirements Document',
    '',
    ...Array.from({ length: 9 }, (_, k) => [
      `### Requirement ${k + 1}`,
      '',
      `**User Story:** As a reader, I want capability ${k + 1} of the reading list, so that I keep links I mean to read.`,
      '',
      '#### Acceptance Criteria',
      '',
      ...Array.from(
        { length: 4 },
        (_, j) =>
          `${j + 1}. WHEN a request for area ${k + 1}.${j + 1} arrives THEN THE service SHALL answer within 200 ms`,
      ),
      '',
    ]).flat(),
  ].join('\n');
  const design = [
    '# Design Document',
    '',
    '## Overview',
    'A small HTTP service in Node.js with a file-backed store and an in-memory search index.',
    '',
    '## Components',
    '### Configuration',
    'Environment variables with defaults, loaded once in src/config/load.js.',
    '### Store',
    'One JSON file per bookmark; atomic writes by rename.',
    '### Search',
    'A token index over titles and tags.',
    '### Routes',
    'list, save, search and health, mounted under /api by src/app.js.',
    '',
    '## Error Handling',
    'Validation errors answer 400 with a message naming the field.',
    '',
  ].join('\n');
  return { tasks: `${lines.join('\n')}\n`, requirements, design };
}

/** Seconds of real work each task's commands take: a spread, the same on every run. */
export function taskSeconds(taskId: string): number {
  const n = Number.parseInt(taskId, 10) || 1;
  return Math.round((0.4 + ((n * 37) % 13) / 10) * 10) / 10;
}
