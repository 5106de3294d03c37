import { EXIT } from './exit-codes.ts';

/**
 * The error family of implement-agent. Callers branch on the class or its fields, never on
 * message text. `exitCode` is what the CLI exits with when the error reaches it.
 */
export class AgentError extends Error {
  readonly exitCode: number = EXIT.taskFailed;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input a user gave us is wrong: a task file, a flag, a config file, a pattern file. Exit 2. */
export class InputError extends AgentError {
  override readonly exitCode: number = EXIT.badInput;
  constructor(
    message: string,
    readonly where?: { file?: string; line?: number },
    options?: { cause?: unknown },
  ) {
    super(where?.file ? `${where.file}${where.line ? `:${where.line}` : ''}: ${message}` : message, options);
  }
}

/** The environment cannot host a run: no nats-server binary, NATS or the LLM unreachable. Exit 5. */
export class EnvironmentError extends AgentError {
  override readonly exitCode: number = EXIT.infrastructure;
}

/** An append whose expected last subject sequence did not hold (JetStream API error 10071). */
export class AppendConflictError extends AgentError {
  constructor(
    readonly subject: string,
    readonly expectedLastSequence: number,
    options?: { cause?: unknown },
  ) {
    super(`append to ${subject} conflicted: expected last sequence ${expectedLastSequence}`, options);
  }
}

/** Bytes on the wire that are not a valid message of the schema they claim to be. */
export class DecodeError extends AgentError {
  constructor(
    message: string,
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(`${subject}: ${message}`, options);
  }
}

/** A stored event whose envelope (type, run, task) is not what its subject says: not believed. */
export class ForgedEventError extends DecodeError {
  constructor(subject: string, own: string, seq: number) {
    super(
      `event ${seq} says it belongs on ${own}: dropped, since only its subject's publisher is vouched for`,
      subject,
    );
  }
}

/** A request nobody answered: no server for its subject, or none within the time allowed. */
export class UnansweredError extends AgentError {
  constructor(
    readonly subject: string,
    why: string,
  ) {
    super(`${subject}: ${why}`);
  }
}

/** An LLM call failed or its reply did not validate (after the repair attempt). */
export class LlmError extends AgentError {
  constructor(
    message: string,
    readonly kind:
      | 'offline'
      | 'transport'
      | 'invalid-reply'
      | 'budget'
      /** The reply ran into its output cap (finish_reason "length"), also with the larger one. */
      | 'truncated'
      /** The request does not fit the endpoint's context. */
      | 'context'
      /** The call was cancelled: its process is closing. */
      | 'cancelled',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A work item this process held past its ack wait (it was frozen): another taker may have it, so nothing more is recorded for it here. */
export class LeaseLostError extends AgentError {
  constructor(subject: string, gapMs: number, ackWaitMs: number) {
    super(
      `${subject}: this process did not run for ${Math.round(gapMs)} ms, longer than the ack wait (${ackWaitMs} ms); the item may have been redelivered, so its late results are not recorded here`,
    );
  }
}

/** A stored content that is not what its name (its sha256) says: a record to distrust; nothing is written from it. */
export class ContentMismatchError extends AgentError {
  constructor(
    readonly path: string,
    readonly content: string,
    readonly actual: string,
  ) {
    super(
      `${path}: the content stored as ${content} has the sha256 ${actual}: not what the record names, so nothing is written from it`,
    );
  }
}

/** A path a record asks to write that no restore may write: outside the working directory, or where git or the tool keeps what runs later. */
export class UnsafePathError extends AgentError {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

/** A view's change set that could not be applied (a full disk, a file in the way): nothing of it was, each file put back where it came from. */
export class MergeError extends AgentError {
  constructor(
    readonly workdir: string,
    readonly path: string,
    readonly who: string,
    cause: unknown,
    /** Paths a failed merge could not put back as they were (with where their content is kept): none, as a rule. */
    readonly notRestored: readonly string[] = [],
  ) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? `its disk is full (ENOSPC)` : (cause as Error).message;
    const left = notRestored.length ? `, but these could not be put back: ${notRestored.join(', ')}` : '';
    super(`${who}'s changes could not be merged into ${workdir}: ${path}: ${why}; nothing of it was applied${left}`, {
      cause,
    });
  }
}
