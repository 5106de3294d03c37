import * as z from 'zod';
import { CommandDenied, CommandFinished, CommandHeartbeat, CommandStarted } from './command-events.ts';
import { RecoveryAttempted, RecoveryFailed, RecoveryResolved } from './command-events.ts';
import { LlmCalled, LlmCapabilityLearned } from './llm-events.ts';
import {
  PlanCacheHit,
  PlanCacheMiss,
  PlanCancelled,
  PlanCreated,
  PlanDrafted,
  PlanInvalidated,
} from './plan-events.ts';
import { RunFinished, RunInterrupted, RunResumed, RunStarted, RunVerified } from './run-events.ts';
import { SiteHeartbeat, TaskAttemptLost, TaskRouted, TaskWaiting } from './site-events.ts';
import {
  TaskCompleted,
  TaskFailed,
  TaskFilesChanged,
  TaskReopened,
  TaskReverted,
  TaskRolledBack,
} from './task-events.ts';
import { TaskSkipped, TaskSubmitted, TaskTicked } from './task-events.ts';

/**
 * The one stream of this system: every event appended to AGENT_EVENTS, one module per family
 * (run, plan, LLM, site, command, task) and their union here. The TypeScript types are inferred
 * from these schemas; no other module spells an event type as a string literal.
 */

export { RunIdSchema } from './event-envelope.ts';
export { CapabilitySettingSchema, LlmOutcomeSchema } from './llm-events.ts';
export {
  ProjectRefSchema,
  RegressionSchema,
  RunOutcomeSchema,
  WeakeningSchema,
  upcastRunStarted,
} from './run-events.ts';
export type { Regression, RunOutcome, Weakening } from './run-events.ts';
export { EvidenceSchema, FileChangeSchema } from './task-events.ts';
export type { Evidence, FileChange } from './task-events.ts';

export const AgentEventSchema = z.discriminatedUnion('type', [
  RunStarted,
  TaskSubmitted,
  PlanCacheHit,
  PlanCacheMiss,
  LlmCalled,
  LlmCapabilityLearned,
  PlanCreated,
  PlanDrafted,
  PlanCancelled,
  PlanInvalidated,
  TaskRouted,
  TaskWaiting,
  TaskAttemptLost,
  CommandStarted,
  CommandHeartbeat,
  SiteHeartbeat,
  CommandFinished,
  CommandDenied,
  RecoveryAttempted,
  RecoveryResolved,
  RecoveryFailed,
  TaskCompleted,
  TaskTicked,
  TaskFailed,
  TaskSkipped,
  TaskReopened,
  TaskFilesChanged,
  TaskRolledBack,
  TaskReverted,
  RunVerified,
  RunInterrupted,
  RunResumed,
  RunFinished,
]);

export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type AgentEventType = AgentEvent['type'];
export type EventOf<T extends AgentEventType> = Extract<AgentEvent, { type: T }>;
export type EventData<T extends AgentEventType> = EventOf<T>['data'];

/** Every event type, in declaration order: for docs, `watch --type` validation and tests. */
export const agentEventTypes: AgentEventType[] = AgentEventSchema.options.map((o) => o.shape.type.value);

/** An event as read back from the stream: the envelope plus its stream sequence. */
export type StoredEvent = AgentEvent & { seq: number };
export type StoredEventOf<T extends AgentEventType> = Extract<StoredEvent, { type: T }>;

/** Makes an event with a fresh envelope; `id` should be deterministic where the effect may be redone. */
export function makeEvent<T extends AgentEventType>(
  type: T,
  fields: { runId: string; taskId?: string; id?: string; causationId?: string; at?: Date },
  data: EventData<T>,
): EventOf<T> {
  const event = {
    id: fields.id ?? crypto.randomUUID(),
    v: 1 as const,
    type,
    runId: fields.runId,
    at: (fields.at ?? new Date()).toISOString(),
    data,
    ...(fields.taskId !== undefined ? { taskId: fields.taskId } : {}),
    ...(fields.causationId !== undefined ? { causationId: fields.causationId } : {}),
  };
  return event as unknown as EventOf<T>;
}

/** Terminal task events: after one of these a task takes no further part in its run. */
export function isTaskTerminal(event: AgentEvent): boolean {
  return event.type === 'TaskCompleted' || event.type === 'TaskFailed' || event.type === 'TaskSkipped';
}
