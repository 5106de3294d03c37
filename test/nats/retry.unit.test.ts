import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { jserrors } from '@nats-io/jetstream/internal';
import { NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { retryPolicies } from '../../src/nats/retry-policies.ts';
import { backoffMs, isTransient, retryTransient } from '../../src/nats/transient.ts';

describe('the retry policy', () => {
  it('retries a transient failure with growing timeouts, and stops at a permanent one', async () => {
    const timeouts: number[] = [];
    const value = await retryTransient(async (timeoutMs) => {
      timeouts.push(timeoutMs);
      if (timeouts.length < 3) throw new TimeoutError();
      return 'answered';
    }, retryPolicies.request);
    expect(value).toBe('answered');
    expect(timeouts).toEqual([1000, 2000, 4000]);
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls++;
        throw new Error('permission denied');
      }, retryPolicies.request),
    ).rejects.toThrow('permission denied');
    expect(calls).toBe(1);
  });

  it('gives up after the attempts it is allowed, with the last error', async () => {
    let calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls++;
          throw new TimeoutError();
        },
        { ...retryPolicies.request, attempts: 2 },
      ),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(calls).toBe(2);
  });

  it('recognises transient errors by their type', () => {
    expect(isTransient(new TimeoutError())).toBe(true);
    expect(isTransient(new Error('TimeoutError'))).toBe(false);
  });

  it('retries "jetstream is not enabled" when nobody answered (a leader election), not when the account has no JetStream', () => {
    // As nats.js builds them (jsbaseclient_api.js, jsclient.js): a request with no responders...
    const unanswered = new RequestError('no responders', { cause: new NoRespondersError('$JS.API.STREAM.INFO.x') });
    expect(isTransient(new jserrors.JetStreamNotEnabled('jetstream is not enabled', { cause: unanswered }))).toBe(true);
    // ...and the server's answer for an account without JetStream (503, err_code 10039).
    const account = new JetStreamApiError({
      code: 503,
      err_code: JetStreamApiCodes.JetStreamNotEnabledForAccount,
      description: 'jetstream not enabled for account',
    });
    expect(isTransient(new jserrors.JetStreamNotEnabled(account.message, { cause: account }))).toBe(false);
  });

  it('backs off from 250 ms to 5 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffMs(n, retryPolicies.request))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
  });

  it('tries once, and retries no failure, once the caller stops retrying, and no policy retries a tick', async () => {
    const stopped = new AbortController();
    stopped.abort();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new TimeoutError();
    };
    await expect(retryTransient(failing, retryPolicies.send, { stopRetrying: stopped.signal })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    await expect(retryTransient(failing, retryPolicies.tick)).rejects.toBeInstanceOf(TimeoutError);
    expect(calls).toBe(2);
  });
});
