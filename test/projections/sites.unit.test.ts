import { describe, expect, it } from 'vitest';
import { makeEvent, type StoredEvent } from '../../src/events/agent-events.ts';
import { SITES_RUN } from '../../src/events/subjects.ts';
import { cameUp, foldSites, isDead, isLive, route, type Site } from '../../src/projections/sites.ts';
import { parseTasks } from '../../src/tasklist/tasks-parser.ts';

const site = (name: string, labels: string[] = [], slots = 2, lastSeenMs = 1_000): Site => ({
  site: name,
  labels,
  slots,
  host: 'h',
  pid: 1,
  intervalMs: 1_000,
  lastSeenMs,
});

describe('routing a task to a site', () => {
  it('keeps the shared queue when no site is up and the task names none', () => {
    expect(route([], {}, new Map())).toEqual({ shared: true });
  });

  it('makes a task with needs wait, saying what it needs and which sites are up', () => {
    expect(route([], { needs: ['gpu'] }, new Map())).toEqual({ waiting: 'no site is up (Needs: gpu)' });
    const r = route([site('a', ['db'])], { needs: ['gpu'] }, new Map());
    expect(r).toEqual({ waiting: 'no live site meets Needs: gpu (live: a [db])' });
  });

  it('sends a Needs: gpu task only to a site labelled gpu, and Site: NAME only to that site', () => {
    const sites = [site('a'), site('g', ['gpu'])];
    expect(route(sites, { needs: ['gpu'] }, new Map([['g', 10]]))).toEqual({ site: 'g' });
    expect(route(sites, { site: 'a' }, new Map([['a', 10]]))).toEqual({ site: 'a' });
  });

  it('prefers the site that ran a dependency, then the least loaded per slot, and avoids one that did not start it', () => {
    const sites = [site('a', [], 1), site('b', [], 4)];
    expect(route(sites, {}, new Map([['b', 1]]), ['b'])).toEqual({ site: 'b' });
    expect(
      route(
        sites,
        {},
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      ),
    ).toEqual({ site: 'b' });
    expect(route(sites, {}, new Map(), [], ['a'])).toEqual({ site: 'b' });
    // Avoided but the only one that fits: it gets the task again rather than none.
    expect(route([site('a')], {}, new Map(), [], ['a'])).toEqual({ site: 'a' });
  });

  it('takes a site silent for three of its beats for dead', () => {
    expect(isLive(site('a'), 3_999)).toBe(true);
    expect(isLive(site('a'), 4_000)).toBe(false);
  });

  it('keeps a site that beats live when beats made while its link was down arrive after fresh ones', () => {
    const beat = (atMs: number, seq: number): StoredEvent => ({
      ...makeEvent(
        'SiteHeartbeat',
        { runId: SITES_RUN, taskId: 'd', at: new Date(atMs) },
        { site: 'd', labels: [], slots: 1, host: 'h', pid: 1, intervalMs: 500 },
      ),
      seq,
    });
    // As the hub stored them in the leaf-node test: a fresh beat, then one retried since the link went down.
    const sites = [beat(61_074, 1), beat(52_341, 2), beat(61_584, 3), beat(53_369, 4)].reduce(
      foldSites,
      new Map<string, Site>(),
    );
    expect(sites.get('d')?.lastSeenMs).toBe(61_584);
    expect(isDead(sites.get('d'), 62_257, 0)).toBe(false);
    expect(isDead(sites.get('d'), 63_084, 0)).toBe(true);
  });

  it('confirms a site dead only when its last beat in the log is old too', () => {
    const beat = (atMs: number): StoredEvent => ({
      ...makeEvent(
        'SiteHeartbeat',
        { runId: SITES_RUN, taskId: 'd', at: new Date(atMs) },
        { site: 'd', labels: [], slots: 1, host: 'h', pid: 1, intervalMs: 1_000 },
      ),
      seq: 1,
    });
    const behind = (last?: StoredEvent) => {
      const sites = new Map([['d', site('d', [], 1, 1_000)]]);
      return (last ? foldSites(sites, last) : sites).get('d');
    };
    // The watcher stalled: its last folded beat is 3.5 s old, but the site beat 200 ms ago.
    expect(isDead(behind(), 4_500, 0)).toBe(true);
    expect(isDead(behind(beat(4_300)), 4_500, 0)).toBe(false);
    // Its last beat in the log is the one folded: dead it is.
    expect(isDead(behind(beat(1_000)), 4_500, 0)).toBe(true);
  });

  it('says a site came up when a beat makes it live now, though its beats were never three intervals apart', () => {
    const at = (lastSeenMs: number): Site => ({ ...site('d'), intervalMs: 500, lastSeenMs });
    // Taken for dead by a watcher behind the log: its next beat, made 400 ms after the last, arrives 1.6 s later.
    expect(cameUp(at(1_000), at(1_400), 2_600)).toBe(true);
    expect(cameUp(undefined, at(1_400), 1_500)).toBe(true);
    // Live before, or still silent after (an old beat passed over, a catch-up's old beats): nothing waits on it.
    expect(cameUp(at(1_000), at(1_400), 1_500)).toBe(false);
    expect(cameUp(at(1_000), at(1_000), 2_600)).toBe(false);
    expect(cameUp(undefined, at(1_000), 9_000)).toBe(false);
  });

  it('reads Site: and Needs: lines of tasks.md', () => {
    const [t] = parseTasks('- [ ] 1. Train\n  - Site: lab-1\n  - Needs: gpu, cuda\n');
    expect(t).toMatchObject({ site: 'lab-1', needs: ['gpu', 'cuda'] });
  });
});
