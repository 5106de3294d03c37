import { describe, expect, it } from 'vitest';
import { agentEventTypes } from '../../src/events/agent-events.ts';
import { authorizationBlock, type Credentials } from '../../src/security/credentials.ts';
import { ROLES, permissionsOf, publishersOf, roleNames } from '../../src/security/roles.ts';

describe('the roles table', () => {
  it('gives every event type a publisher, TaskCompleted the executor alone, and the monitor nothing to write', () => {
    expect(agentEventTypes.filter((t) => publishersOf(t).length === 0)).toEqual([]);
    expect(publishersOf('TaskCompleted')).toEqual(['executor']);
    expect(publishersOf('PlanCreated')).toEqual(['decomposer']);
    const monitor = permissionsOf('monitor').publish;
    expect(monitor.filter((s) => !s.startsWith('$JS.API.') && !s.startsWith('$JS.FC.'))).toEqual([]);
  });

  it('lets no role but the admin create, update, delete or purge a stream, nor write what it does not own', () => {
    for (const role of roleNames.filter((r) => r !== 'admin')) {
      const publish = permissionsOf(role).publish;
      const managing = publish.filter((s) =>
        /\.(STREAM\.(CREATE|UPDATE|DELETE|PURGE)|ACCOUNT)|^>$|\$JS\.API\.>/.test(s),
      );
      // Only the bucket of large snapshots, which the log rebuilds, is purged by its writers.
      expect(
        managing.filter((s) => s !== '$JS.API.STREAM.PURGE.OBJ_agent_snapshots_large'),
        role,
      ).toEqual([]);
      const events = publish.filter((s) => s.startsWith('agent.events.'));
      expect(
        events.map((s) => s.split('.').at(-1)),
        role,
      ).toEqual(ROLES[role].events);
    }
  });

  it('generates one user per role, with its password quoted', () => {
    const credentials = {
      v: 1,
      users: Object.fromEntries(roleNames.map((r) => [r, `pw-"${r}"-0123456789abcdef`])),
    } as Credentials;
    const block = authorizationBlock(credentials);
    for (const r of roleNames)
      expect(block).toContain(`{ user: "${r}", password: ${JSON.stringify(`pw-"${r}"-0123456789abcdef`)}`);
  });
});
