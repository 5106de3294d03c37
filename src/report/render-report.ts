import type { EventOf, FileChange, StoredEvent, StoredEventOf } from '../events/agent-events.ts';
import { changesByTask } from '../workspace/run-changes.ts';
import { costUsd, usd, UsageTally, type LlmUsage } from '../projections/llm-usage.ts';
import { HOME_SITE } from '../projections/sites.ts';
import { meaningfulLine } from '../exec/output-summary.ts';
import { unionLength as union } from './intervals.ts';
import { planningTime } from './planning-time.ts';
import { summarizeRuns, type RunSummary } from './run-summary.ts';
import { taskLabel } from '../tasklist/task-spec.ts';

/** What a bar is; one word each, and the legend shows only the kinds present. */
const KINDS = {
  plan: { label: 'command', colour: '#3b82f6' },
  check: { label: 'success check', colour: '#10b981' },
  decision: { label: 'decision', colour: '#8b5cf6' },
  recovery: { label: 'recovery command', colour: '#f59e0b' },
  llm: { label: 'LLM call', colour: '#a855f7' },
  planning: { label: 'planning', colour: '#94a3b8' },
  failed: { label: 'failed', colour: '#ef4444' },
} as const;
type Kind = keyof typeof KINDS;

type Bar = { lane: string; task: string; label: string; start: number; end: number; kind: Kind };
type Mark = { lane: string; at: number; label: string };

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const t = (iso: string) => Date.parse(iso);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Where the run's wall time went, as disjoint shares that add up to the wall time: commands,
 * then recovery outside commands, then planning outside both (planning done while commands ran
 * is reported apart, as hidden), then waiting.
 */
export type ReportSummary = {
  wallMs: number;
  executionMs: number;
  recoveryMs: number;
  planningMs: number;
  /** Planning done while commands ran (planned ahead): it cost no wall time. */
  planningHiddenMs: number;
  waitingMs: number;
  llmCalls: number;
  cacheHits: number;
  cacheMisses: number;
};

/** What the report shows, computed from the run's events alone. */
export function summarize(events: readonly StoredEvent[]): {
  bars: Bar[];
  marks: Mark[];
  start: number;
  end: number;
  summary: ReportSummary;
  run: RunSummary | undefined;
  title: string;
  titles: ReadonlyMap<string, string>;
} {
  const started = events.find((e) => e.type === 'RunStarted');
  const start = started ? t(started.at) : t(events[0]?.at ?? new Date().toISOString());
  const end = Math.max(start + 1, ...events.map((e) => t(e.at)));
  const titles = new Map(
    events.flatMap((e) => (e.type === 'TaskSubmitted' ? [[e.taskId!, e.data.task.title] as const] : [])),
  );
  // The site that ran each task (its last route, or where its commands started): said in its lanes.
  const sites = new Map(
    events.flatMap((e) =>
      e.type === 'TaskRouted' || (e.type === 'CommandStarted' && e.data.site !== undefined)
        ? [[e.taskId!, e.data.site!] as const]
        : [],
    ),
  );
  const { bars, marks } = timeline(events, (task) => {
    const site = sites.get(task);
    return (
      clip(taskLabel(task, titles.get(task)), 34) +
      (site === undefined ? '' : ` @ ${site === HOME_SITE ? 'home' : site}`)
    );
  });
  const title = `${started?.type === 'RunStarted' ? started.data.tasksFile : 'run'} (${events[0]?.runId ?? ''})`;
  bars.sort((a, b) => a.task.localeCompare(b.task, undefined, { numeric: true }) || a.start - b.start);
  const summary = wallTimeShares(events, end - start);
  return { bars, marks, start, end, summary, run: summarizeRuns(events)[0], title, titles };
}

/** A bar per command, plan, LLM call and failed task, a mark per recovery attempt; lanes named by `name`. */
function timeline(events: readonly StoredEvent[], name: (task: string) => string): { bars: Bar[]; marks: Mark[] } {
  const firstAt = new Map<string, number>();
  const bars: Bar[] = [];
  const marks: Mark[] = [];
  const failedOnce = new Set<string>();
  for (const e of events) {
    const task = e.taskId ?? '';
    if (task && !firstAt.has(task)) firstAt.set(task, t(e.at));
    if (e.type === 'CommandFinished') bars.push(commandBar(e, task, name(task)));
    if (e.type === 'PlanCreated')
      bars.push({
        lane: `${name(task)} · plan`,
        task,
        label: `plan: ${e.data.source} (${e.data.durationMs.toFixed(0)} ms)`,
        start: t(e.at) - e.data.durationMs,
        end: t(e.at),
        kind: 'planning',
      });
    if (e.type === 'LlmCalled')
      bars.push({
        lane: task ? `${name(task)} · LLM` : 'run · LLM',
        task,
        label: `LLM ${e.data.purpose} (${e.data.durationMs.toFixed(0)} ms)`,
        start: t(e.at) - e.data.durationMs,
        end: t(e.at),
        kind: 'llm',
      });
    if (e.type === 'RecoveryAttempted')
      marks.push({
        lane: `${name(task)} · ${e.data.commandId}`,
        at: t(e.at),
        label: `recovery: ${e.data.strategyId} (${e.data.source})`,
      });
    // Every failed task gets a red row, whatever stage it failed at (planning, a success check).
    if (e.type === 'TaskFailed' && !failedOnce.has(task)) {
      failedOnce.add(task);
      bars.push({
        lane: `${name(task)} · failed`,
        task,
        label: `failed (${e.data.stage}): ${e.data.reason}`,
        start: firstAt.get(task) ?? t(e.at),
        end: t(e.at),
        kind: 'failed',
      });
    }
  }
  return { bars, marks };
}

function commandBar(e: StoredEventOf<'CommandFinished'>, task: string, taskName: string): Bar {
  const s = t(e.data.startedAt);
  const ok = e.data.exitCode === 0 && !e.data.timedOut;
  const why = ok ? '' : `: ${meaningfulLine(e.data.stderrTail, e.data.stdoutTail)}`;
  return {
    lane: `${taskName} · ${e.data.commandId}`,
    task,
    label: `${e.data.command.split('\n')[0]} (exit ${e.data.exitCode}, ${e.data.durationMs.toFixed(0)} ms)${why}`,
    start: s,
    end: s + e.data.durationMs,
    kind: ok ? e.data.purpose : 'failed',
  };
}

/** The run's wall time cut into disjoint shares (ReportSummary), and its LLM calls and cache lookups. */
function wallTimeShares(events: readonly StoredEvent[], wallMs: number): ReportSummary {
  const of = <T extends StoredEvent['type']>(type: T) => events.filter((e) => e.type === type) as StoredEventOf<T>[];
  const finished = of('CommandFinished');
  const span = (f: EventOf<'CommandFinished'>): [number, number] => [
    t(f.data.startedAt),
    t(f.data.startedAt) + f.data.durationMs,
  ];
  const planning = of('PlanCreated').map((e): [number, number] => [t(e.at) - e.data.durationMs, t(e.at)]);
  const execution = finished.filter((f) => f.data.purpose !== 'recovery').map(span);
  const recovery = [
    ...finished.filter((f) => f.data.purpose === 'recovery').map(span),
    ...of('LlmCalled')
      .filter((e) => e.data.purpose.startsWith('recovery'))
      .map((e): [number, number] => [t(e.at) - e.data.durationMs, t(e.at)]),
  ];
  const executionMs = union(execution);
  const recoveryMs = union([...execution, ...recovery]) - executionMs;
  const busyMs = union([...execution, ...recovery, ...planning]);
  return {
    wallMs,
    executionMs,
    recoveryMs,
    planningMs: busyMs - executionMs - recoveryMs,
    planningHiddenMs: planningTime(events).hiddenMs,
    waitingMs: Math.max(0, wallMs - busyMs),
    llmCalls: of('LlmCalled').length,
    cacheHits: of('PlanCacheHit').length,
    cacheMisses: of('PlanCacheMiss').length,
  };
}

/**
 * A time axis stretched so that short steps stay visible: between consecutive bar edges, each
 * segment gets a few pixels at least and the rest in proportion to its duration. Ticks still
 * say real seconds. A linear axis would let one long command squeeze the others to nothing.
 */
export function stretchedAxis(
  edges: readonly number[],
  start: number,
  end: number,
  pixels: number,
  minSegmentPx = 6,
): (ms: number) => number {
  const points = [...new Set([start, ...edges.filter((e) => e > start && e < end), end])].sort((a, b) => a - b);
  const segments = points.length - 1;
  const floor = Math.min(minSegmentPx, pixels / Math.max(1, segments) / 2);
  const spare = pixels - floor * segments;
  const xs = [0];
  for (let i = 0; i < segments; i++) xs.push(xs[i]! + floor + (spare * (points[i + 1]! - points[i]!)) / (end - start));
  return (ms: number) => {
    if (ms <= start) return 0;
    if (ms >= end) return pixels;
    let i = 0;
    while (points[i + 1]! < ms) i++;
    const [a, b] = [points[i]!, points[i + 1]!];
    return xs[i]! + ((xs[i + 1]! - xs[i]!) * (ms - a)) / (b - a);
  };
}

/** Tokens (and money, with the run's prices) per task and for the run; empty when no LLM was called. */
function llmCostTable(events: readonly StoredEvent[], titles: ReadonlyMap<string, string>): string {
  const started = events.find((e) => e.type === 'RunStarted');
  const pricing = started?.type === 'RunStarted' ? started.data.options.pricing : undefined;
  const usage = new UsageTally();
  for (const e of events) usage.see(e);
  if (usage.total.calls === 0) return '';
  const row = (label: string, u: LlmUsage) =>
    `<tr><td>${escapeHtml(label)}</td><td>${u.calls}</td><td>${u.promptTokens}</td><td>${u.cachedTokens}</td><td>${u.completionTokens}</td>${pricing ? `<td>${usd(costUsd(u, pricing))}</td>` : ''}</tr>`;
  return `<table id="llm-cost"><tr><th>LLM</th><th>calls</th><th>prompt tokens</th><th>of them cached</th><th>completion tokens</th>${pricing ? '<th>cost (USD)</th>' : ''}</tr>
${[...usage.byTask].map(([id, u]) => row(id ? taskLabel(id, titles.get(id)) : 'run', u)).join('\n')}
${row('whole run', usage.total)}</table>`;
}

/** Each task's changed files (TaskFilesChanged), and whether they were undone since; empty when no task changed one. */
function changedFilesTable(events: readonly StoredEvent[], titles: ReadonlyMap<string, string>): string {
  const tasks = changesByTask(events);
  if (tasks.length === 0) return '';
  const kind = (f: FileChange) => (f.before === null ? 'created' : f.after === null ? 'deleted' : 'modified');
  const rows = tasks.map((t) => {
    const files = t.files
      .map((f) => `${escapeHtml(f.path)} <small>(${kind(f)}${f.stored ? '' : ', not stored'})</small>`)
      .join('<br>');
    const ignored = t.ignored
      .map((i) => `${escapeHtml(i.path)} <small>(ignored, ${i.entries} entries)</small>`)
      .join('<br>');
    return `<tr><td>${escapeHtml(taskLabel(t.taskId, titles.get(t.taskId)))}</td><td>${[files, ignored].filter(Boolean).join('<br>')}</td><td>${t.undone ?? ''}</td></tr>`;
  });
  return `<table id="changed-files"><tr><th>task</th><th>files changed (\`implement-agent diff\`)</th><th>undone</th></tr>
${rows.join('\n')}</table>`;
}

/** A self-contained HTML page (inline SVG and CSS, no scripts, no network) for one run. */
export function renderReport(events: readonly StoredEvent[]): string {
  const { bars, marks, start, end, summary, run, title, titles } = summarize(events);
  const lanes = [...new Set(bars.map((b) => b.lane))];
  const width = 1100;
  const left = 250;
  const row = 18;
  const axis = stretchedAxis(
    bars.flatMap((b) => [b.start, b.end]),
    start,
    end,
    width - left - 10,
  );
  const x = (ms: number) => left + axis(ms);
  const height = lanes.length * row + 40;
  // Ticks at real times, as many as fit without overlapping on the stretched axis.
  const ticks: number[] = [];
  for (const candidate of Array.from({ length: 41 }, (_, i) => start + ((end - start) * i) / 40)) {
    if (ticks.length === 0 || x(candidate) - x(ticks.at(-1)!) >= 60) ticks.push(candidate);
  }
  const svg = [
    `<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="timeline">`,
    ...ticks.map(
      (tick) =>
        `<line x1="${x(tick).toFixed(1)}" y1="20" x2="${x(tick).toFixed(1)}" y2="${height}" stroke="#e5e7eb"/><text x="${x(tick).toFixed(1)}" y="14" font-size="10" text-anchor="middle">${((tick - start) / 1000).toFixed(2)}s</text>`,
    ),
    ...lanes.map(
      (lane, i) =>
        `<text class="lane${lane.endsWith(' · failed') ? ' failed' : ''}" x="4" y="${32 + i * row}" font-size="11"${lane.endsWith(' · failed') ? ' fill="#b91c1c"' : ''}>${escapeHtml(lane)}</text>`,
    ),
    ...bars.map((b) => {
      const y = 22 + lanes.indexOf(b.lane) * row;
      const x0 = x(b.start);
      return `<rect class="bar ${b.kind}" x="${x0.toFixed(1)}" y="${y}" width="${Math.max(2, x(b.end) - x0).toFixed(1)}" height="${row - 4}" rx="2" fill="${KINDS[b.kind].colour}"><title>${escapeHtml(b.label)}</title></rect>`;
    }),
    ...marks.map((m) => {
      const y = 22 + Math.max(0, lanes.indexOf(m.lane)) * row;
      const at = x(m.at);
      return `<path class="recovery-mark" d="M${at} ${y} l5 7 l-5 7 l-5 -7 z" fill="#b45309"><title>${escapeHtml(m.label)}</title></path>`;
    }),
    '</svg>',
  ].join('\n');
  const s = summary;
  const pct = (v: number) => `${((v / Math.max(1, s.wallMs)) * 100).toFixed(0)}%`;
  const present = new Set(bars.map((b) => b.kind));
  const legend = (Object.keys(KINDS) as Kind[])
    .filter((k) => present.has(k))
    .map((k) => `<span><i style="background:${KINDS[k].colour}"></i>${KINDS[k].label}</span>`)
    .join(' ');
  const state = run?.state ?? 'unfinished';
  const stateColour = state === 'succeeded' ? '#047857' : state === 'failed' ? '#b91c1c' : '#b45309';
  const cost = llmCostTable(events, titles);
  const changed = changedFilesTable(events, titles);
  // A failure a `resume` reopened since (TaskReopened) is no longer the task's outcome.
  const reopened = new Map(events.flatMap((e) => (e.type === 'TaskReopened' ? [[e.taskId, e.seq] as const] : [])));
  const failures = events.filter(
    (e): e is EventOf<'TaskFailed'> & StoredEvent => e.type === 'TaskFailed' && e.seq > (reopened.get(e.taskId) ?? 0),
  );
  const failedList = [...new Map(failures.map((f) => [f.taskId, f])).values()]
    .map(
      (f) =>
        `<li><b>${escapeHtml(taskLabel(f.taskId, titles.get(f.taskId ?? '')))}</b> (${escapeHtml(f.data.stage)}): ${escapeHtml(f.data.reason)}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>implement-agent report ${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}
.legend span{margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}.status{font-weight:600}</style></head>
<body><h1>Run ${escapeHtml(title)}</h1>
<p id="status"><span class="status" style="color:${stateColour}">${escapeHtml(state)}</span>: ${run?.completed ?? 0} of ${run?.tasks ?? 0} task(s) completed, ${run?.unverified ? `${run.unverified} unverified (no evidence they did their work), ` : ''}${run?.failed ?? 0} failed, ${run?.skipped ?? 0} skipped, in ${secs(s.wallMs)}</p>
${failedList ? `<ul id="failed">${failedList}</ul>` : ''}
<table><tr><th>wall</th><th>commands</th><th>recovery</th><th>planning</th><th>waiting</th><th>planning hidden behind commands</th><th>LLM calls</th><th>cache hits / misses</th></tr>
<tr><td>${secs(s.wallMs)}</td><td>${secs(s.executionMs)} (${pct(s.executionMs)})</td><td>${secs(s.recoveryMs)} (${pct(s.recoveryMs)})</td><td>${secs(s.planningMs)} (${pct(s.planningMs)})</td><td>${secs(s.waitingMs)} (${pct(s.waitingMs)})</td><td>${secs(s.planningHiddenMs)}</td><td>${s.llmCalls}</td><td>${s.cacheHits} / ${s.cacheMisses}</td></tr></table>
${cost}
${changed}
<p class="legend">${legend} <span>◆ recovery attempt</span> <span style="color:#6b7280">(time axis stretched so that short steps stay visible; ticks are real seconds)</span></p>
${svg}
</body></html>
`;
}
