import * as z from 'zod';
import { PlanInputSchema, PlanSchema, PlanSourceSchema } from '../plan/plan-schema.ts';
import { defineEvent } from './event-envelope.ts';

/** The decomposer's events (and `run --dry --plan`'s draft): the plan cache, plans made, cancelled, invalidated. */

export const PlanCacheHit = defineEvent(
  'PlanCacheHit',
  'a plan served from the cache: key, entry, exact, similar or drafted, similarity, adaptations',
  z.object({
    key: z.string(),
    entryKey: z.string(),
    /** `drafted`: a plan of `run --dry --plan`, served on its exact key, not yet proven by a run. */
    match: z.enum(['exact', 'similar', 'drafted']),
    similarity: z.number(),
    adaptations: z.array(z.object({ from: z.string(), to: z.string() })),
  }),
);
export const PlanCacheMiss = defineEvent(
  'PlanCacheMiss',
  'no cached plan would do, and why (the nearest entry and its similarity)',
  z.object({
    key: z.string(),
    reason: z.string(),
    bestEntryKey: z.string().optional(),
    bestSimilarity: z.number().optional(),
  }),
);
/** What a plan was made from and for: the plan cache's key and what similar lookups read. */
const madePlan = {
  taskKey: z.string(),
  /** Checksum of the compressed context this task was planned with (part of the key). */
  contextChecksum: z.string(),
  /** Checksum of all spec files: a similar hit needs it unchanged (absent in early logs). */
  specChecksum: z.string().default(''),
  /** The normalised task text the key was computed from; similar-hit matching reads it. */
  taskText: z.string(),
  plan: PlanSchema,
  durationMs: z.number().nonnegative(),
  /** Files whose content the plan was made from (null: named, did not exist). */
  inputs: z.array(PlanInputSchema).default([]),
};
export const PlanCreated = defineEvent(
  'PlanCreated',
  "a task's plan: source (explicit, cache, llm), strategy, key, checksums, the files it was made from",
  z.object({
    source: PlanSourceSchema,
    strategy: z.string().optional(),
    ...madePlan,
    /** 0 for the first plan of a task; n after its n-th PlanInvalidated. */
    revision: z.number().int().nonnegative().default(0),
  }),
);
/**
 * A plan `run --dry --plan` made with the LLM, ahead of any run of its task: the plan cache serves
 * it to the next run of the same task (same key) as drafted, unproven; it becomes a plan that
 * worked only when that run's task completes.
 */
export const PlanDrafted = defineEvent(
  'PlanDrafted',
  'a plan `run --dry --plan` made ahead of any run, served to the next run of its task unproven',
  z.object({ strategy: z.string().optional(), ...madePlan }),
);
/**
 * Planning stopped because its task will not run (skipped: a dependency failed) or its run is
 * over: the calls in flight were cancelled (each an LlmCalled `cancelled`), and no plan is made.
 */
export const PlanCancelled = defineEvent(
  'PlanCancelled',
  'planning stopped: the task will not run or its run is over',
  z.object({ revision: z.number().int().nonnegative(), reason: z.string() }),
);
/** A plan made ahead whose inputs changed (an earlier task wrote them) before its task started. */
export const PlanInvalidated = defineEvent(
  'PlanInvalidated',
  'a plan made ahead is out of date (an earlier task changed its inputs): planned again',
  z.object({
    /** The revision the next plan will carry. */
    revision: z.number().int().positive(),
    changed: z.array(z.object({ path: z.string(), was: z.string().nullable(), now: z.string().nullable() })),
    reason: z.string(),
  }),
);
