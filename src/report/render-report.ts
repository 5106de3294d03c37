import { planningTime } from './planning-time.ts';
import type { EventOf, StoredEvent } from '../events/agent-events.ts';
import { unionLength as union } from './intervals.ts';

type Bar = { lane: string; task: string; label: string; start: number; end: number; kind: 'plan' | 'recovery' | 'check' | 'decision' | 'failed' | 'llm' | 'planning' };
type Mark = { lane: string; at: number; label: string };

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const t = (iso: string) => Date.parse(iso);

export type ReportSummary = {
  wallMs: number;
  planningMs: number;
  /** Planning done while commands ran (planned ahead): it cost no wall time. */
  planningHiddenMs: number;
  executionMs: number; recoveryMs: number; waitingMs: number; llmCalls: number; cacheHits: number; cacheMisses: number;
};

/** What the report shows, computed from the run's events alone. */
export function summarize(events: readonly StoredEvent[]): { bars: Bar[]; marks: Mark[]; start: number; end: number; summary: ReportSummary; title: string } {
  const started = events.find((e) => e.type === 'RunStarted');
  const start = started ? t(started.at) : t(events[0]?.at ?? new Date().toISOString());
  const end = Math.max(start + 1, ...events.map((e) => t(e.at)));
  const titles = new Map(events.flatMap((e) => (e.type === 'TaskSubmitted' ? [[e.taskId!, e.data.task.title] as const] : [])));
  const bars: Bar[] = [];
  const marks: Mark[] = [];
  for (const e of events) {
    const task = e.taskId ?? '';
    if (e.type === 'CommandFinished') {
      const s = t(e.data.startedAt);
      const ok = e.data.exitCode === 0 && !e.data.timedOut;
      bars.push({ lane: `${task} ${e.data.commandId}`, task, label: `${e.data.command.split('\n')[0]} (exit ${e.data.exitCode}, ${e.data.durationMs.toFixed(0)} ms)`, start: s, end: s + e.data.durationMs, kind: ok ? e.data.purpose : 'failed' });
    }
    if (e.type === 'PlanCreated') bars.push({ lane: `${task} plan`, task, label: `plan: ${e.data.source} (${e.data.durationMs.toFixed(0)} ms)`, start: t(e.at) - e.data.durationMs, end: t(e.at), kind: 'planning' });
    if (e.type === 'LlmCalled') bars.push({ lane: `${task || 'run'} llm`, task, label: `LLM ${e.data.purpose} (${e.data.durationMs.toFixed(0)} ms)`, start: t(e.at) - e.data.durationMs, end: t(e.at), kind: 'llm' });
    if (e.type === 'RecoveryAttempted') marks.push({ lane: `${task} ${e.data.commandId}`, at: t(e.at), label: `recovery: ${e.data.strategyId} (${e.data.source})` });
  }
  const of = <T extends StoredEvent['type']>(type: T) => events.filter((e) => e.type === type) as (EventOf<T> & StoredEvent)[];
  const finished = of('CommandFinished');
  const span = (f: EventOf<'CommandFinished'>): [number, number] => [t(f.data.startedAt), t(f.data.startedAt) + f.data.durationMs];
  const planning = of('PlanCreated').map((e): [number, number] => [t(e.at) - e.data.durationMs, t(e.at)]);
  const execution = finished.filter((f) => f.data.purpose !== 'recovery').map(span);
  const recovery = [...finished.filter((f) => f.data.purpose === 'recovery').map(span), ...of('LlmCalled').filter((e) => e.data.purpose.startsWith('recovery')).map((e): [number, number] => [t(e.at) - e.data.durationMs, t(e.at)])];
  const wallMs = end - start;
  const summary: ReportSummary = {
    wallMs,
    planningMs: union(planning),
    planningHiddenMs: planningTime(events).hiddenMs,
    executionMs: union(execution),
    recoveryMs: union(recovery),
    waitingMs: Math.max(0, wallMs - union([...planning, ...execution, ...recovery])),
    llmCalls: of('LlmCalled').length,
    cacheHits: of('PlanCacheHit').length,
    cacheMisses: of('PlanCacheMiss').length,
  };
  const title = `${started?.type === 'RunStarted' ? started.data.tasksFile : 'run'} (${events[0]?.runId ?? ''})`;
  bars.sort((a, b) => a.task.localeCompare(b.task, undefined, { numeric: true }) || a.start - b.start);
  return { bars, marks, start, end, summary, title: titles.size ? `${title}` : title };
}

const COLOURS: Record<Bar['kind'], string> = {
  plan: '#3b82f6',
  check: '#10b981',
  decision: '#8b5cf6',
  recovery: '#f59e0b',
  failed: '#ef4444',
  llm: '#a855f7',
  planning: '#94a3b8',
};

/** A self-contained HTML page (inline SVG and CSS, no scripts, no network) for one run. */
export function renderReport(events: readonly StoredEvent[]): string {
  const { bars, marks, start, end, summary, title } = summarize(events);
  const lanes = [...new Set(bars.map((b) => b.lane))];
  const width = 1100;
  const left = 170;
  const row = 18;
  const scale = (ms: number) => left + ((ms - start) / (end - start)) * (width - left - 10);
  const height = lanes.length * row + 40;
  const ticks = Array.from({ length: 11 }, (_, i) => start + ((end - start) * i) / 10);
  const svg = [
    `<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="timeline">`,
    ...ticks.map((x) => `<line x1="${scale(x)}" y1="20" x2="${scale(x)}" y2="${height}" stroke="#e5e7eb"/><text x="${scale(x)}" y="14" font-size="10" text-anchor="middle">${((x - start) / 1000).toFixed(2)}s</text>`),
    ...lanes.map((lane, i) => `<text x="4" y="${32 + i * row}" font-size="11">${escapeHtml(lane)}</text>`),
    ...bars.map((b) => {
      const y = 22 + lanes.indexOf(b.lane) * row;
      const x = scale(b.start);
      return `<rect class="bar ${b.kind}" x="${x.toFixed(1)}" y="${y}" width="${Math.max(2, scale(b.end) - x).toFixed(1)}" height="${row - 4}" rx="2" fill="${COLOURS[b.kind]}"><title>${escapeHtml(b.label)}</title></rect>`;
    }),
    ...marks.map((m) => {
      const y = 22 + Math.max(0, lanes.indexOf(m.lane)) * row;
      const x = scale(m.at);
      return `<path class="recovery-mark" d="M${x} ${y} l5 7 l-5 7 l-5 -7 z" fill="#b45309"><title>${escapeHtml(m.label)}</title></path>`;
    }),
    '</svg>',
  ].join('\n');
  const s = summary;
  const pct = (v: number) => `${((v / Math.max(1, s.wallMs)) * 100).toFixed(0)}%`;
  const legend = Object.entries(COLOURS).map(([k, c]) => `<span><i style="background:${c}"></i>${k}</span>`).join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>implement-agent report ${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:left}
.legend span{margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}</style></head>
<body><h1>Run ${escapeHtml(title)}</h1>
<table><tr><th>wall</th><th>planning</th><th>planning hidden behind commands</th><th>execution</th><th>recovery</th><th>waiting</th><th>LLM calls</th><th>cache hits / misses</th></tr>
<tr><td>${(s.wallMs / 1000).toFixed(2)} s</td><td>${(s.planningMs / 1000).toFixed(2)} s (${pct(s.planningMs)})</td><td>${(s.planningHiddenMs / 1000).toFixed(2)} s</td><td>${(s.executionMs / 1000).toFixed(2)} s (${pct(s.executionMs)})</td><td>${(s.recoveryMs / 1000).toFixed(2)} s (${pct(s.recoveryMs)})</td><td>${(s.waitingMs / 1000).toFixed(2)} s (${pct(s.waitingMs)})</td><td>${s.llmCalls}</td><td>${s.cacheHits} / ${s.cacheMisses}</td></tr></table>
<p class="legend">${legend} <span>◆ recovery attempt</span></p>
${svg}
</body></html>
`;
}
