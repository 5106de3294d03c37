import { describe, expect, it } from 'vitest';
import { agentEventTypes } from '../../src/events/agent-events.ts';
import { authorizationBlock, withSite, type Credentials } from '../../src/security/credentials.ts';
import { ROLES, permissionsOf, publishersOf, roleNames, sitePermissions, siteUser } from '../../src/security/roles.ts';

describe('the roles table', () => {
  it('gives every event type a publisher, TaskCompleted the executor alone, and the monitor nothing to write', () => {
    // A site's heartbeat: its own user alone, under its own name (below).
    expect(agentEventTypes.filter((t) => publishersOf(t).length === 0)).toEqual(['SiteHeartbeat']);
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

  it("gives a site the executor's rights on its own queue, consumer and heartbeat alone", () => {
    const a = sitePermissions('a').publish;
    const executor = permissionsOf('executor').publish;
    expect(a.filter((s) => s.includes('work-executor') || s.startsWith('agent.cmd.executor'))).toEqual([]);
    expect(a).toContain('$JS.API.CONSUMER.CREATE.AGENT_WORK.work-site-a.agent.site.a.>');
    expect(a.filter((s) => s.includes('CONSUMER.CREATE.AGENT_WORK'))).toHaveLength(1);
    expect(a.filter((s) => s.endsWith('SiteHeartbeat'))).toEqual(['agent.events._sites.a.SiteHeartbeat']);
    expect(a.filter((s) => s.includes('site-b') || s.includes('.b.'))).toEqual([]);
    // Otherwise the executor's row: its events, recovery requests and buckets.
    const shared = executor.filter((s) => !s.includes('work-executor') && s !== '$JS.API.STREAM.INFO.AGENT_WORK');
    expect(a).toEqual(expect.arrayContaining(shared));
    expect(permissionsOf('coordinator').publish).toContain('agent.site.>');
  });

  it('in a JetStream domain, grants each API subject and KV write also as the domain addresses it, and nothing more', () => {
    const prefixed = (s: string) => s.replace(/^\$JS\.API\./, '$JS.hub.API.').replace(/^\$KV\./, '$JS.hub.API.$KV.');
    for (const [local, inHub] of [
      ...roleNames.map((r) => [permissionsOf(r), permissionsOf(r, 'hub')] as const),
      [sitePermissions('a'), sitePermissions('a', 'hub')] as const,
    ]) {
      expect(new Set(inHub.publish)).toEqual(new Set([...local.publish, ...local.publish.map(prefixed)]));
      expect(inHub.subscribe).toEqual(local.subscribe);
    }
    const a = sitePermissions('a', 'hub').publish;
    expect(a).toContain('$JS.hub.API.CONSUMER.CREATE.AGENT_WORK.work-site-a.agent.site.a.>');
    expect(a).toContain('$JS.hub.API.$KV.agent_snapshots.>');
    expect(a.filter((s) => s.includes('CONSUMER.CREATE.AGENT_WORK'))).toHaveLength(2);
    expect(a.filter((s) => s.includes('work-executor') || s.includes('site-b'))).toEqual([]);
    expect(permissionsOf('admin', 'hub')).toEqual(permissionsOf('admin'));
  });

  it('generates one user per role, with its password quoted', () => {
    const credentials = {
      v: 1,
      users: Object.fromEntries(roleNames.map((r) => [r, `pw-"${r}"-0123456789abcdef`])),
    } as Credentials;
    const block = authorizationBlock(credentials);
    for (const r of roleNames)
      expect(block).toContain(`{ user: "${r}", password: ${JSON.stringify(`pw-"${r}"-0123456789abcdef`)}`);
    expect(block).not.toContain('site-');
    const withA = withSite(credentials, 'a');
    expect(withSite(withA, 'a')).toBe(withA);
    expect(authorizationBlock(withA)).toContain(
      `{ user: "${siteUser('a')}", password: ${JSON.stringify(withA.sites?.a)}`,
    );
  });
});
