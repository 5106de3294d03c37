/**
 * implement-agent's public API: run the actors in your own process, submit runs, read the log.
 * The CLI (`bin/implement-agent.js`) is built on exactly these.
 */
export { loadConfig, ConfigSchema, type Config, type ConfigOverrides } from './config.ts';
export {
  AgentError,
  InputError,
  EnvironmentError,
  AppendConflictError,
  DecodeError,
  LlmError,
  UnansweredError,
} from './errors.ts';
export {
  AgentEventSchema,
  agentEventTypes,
  makeEvent,
  type AgentEvent,
  type AgentEventType,
  type StoredEvent,
} from './events/agent-events.ts';
export { EventStore } from './nats/event-store.ts';
export { MemoryEventLog } from './events/memory-event-log.ts';
export type { EventLog, Subscription } from './events/event-log.ts';
export { MemorySnapshots, type Snapshots } from './projections/snapshots.ts';
export type { Projection } from './projections/projection.ts';
export { runProjection } from './projections/runner.ts';
export { eventSubjects, commandSubjects, EVENTS_STREAM, WORK_STREAM } from './events/subjects.ts';
export { MemoryContents, MemoryOutputs, MemoryRequests, MemoryWorkQueue } from './events/memory-bus.ts';
export type { ContentStore, OutputStore, Requests, WorkQueue } from './events/bus.ts';
export { openRuntime, Background, type NatsRuntime } from './host/runtime.ts';
export type { Runtime } from './actors/actor.ts';
export { runActor, type RunningActor } from './host/run-actor.ts';
export {
  append,
  send,
  workInputs,
  requestInputs,
  type ActorDefinition,
  type ActorIO,
  type Effect,
} from './actors/actor.ts';
export { hostActors, missingActors } from './host/hosts.ts';
export { submitRun } from './host/submit-run.ts';
export { parseTasks } from './tasklist/tasks-parser.ts';
export { tickTask } from './tasklist/tasks-writer.ts';
export { PatternDb } from './recovery/pattern-db.ts';
export { startLocalNats } from './nats/local-server.ts';
export { renderReport } from './report/render-report.ts';
