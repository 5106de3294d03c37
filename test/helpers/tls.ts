import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** A CA and a certificate it signed for loopback (SAN DNS:localhost, IP:127.0.0.1), as PEM files. */
export type TestCerts = { ca: string; cert: string; key: string };

/**
 * Makes, with `openssl` in `dir`, a CA and a server certificate for loopback signed by it. The
 * certificate names no key usage, so a node also presents it as a client on its routes.
 */
export async function makeTestCerts(dir: string): Promise<TestCerts> {
  const f = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (...args: string[]) => execa('openssl', args);
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca-key.pem'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=ia-test-ca',
  );
  await openssl('req', ...ec, '-keyout', f('node-key.pem'), '-out', f('node.csr'), '-subj', '/CN=127.0.0.1');
  await writeFile(f('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    f('node.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca-key.pem'),
    '-CAcreateserial',
    '-out',
    f('node.pem'),
    '-days',
    '2',
    '-extfile',
    f('san.ext'),
  );
  return { ca: f('ca.pem'), cert: f('node.pem'), key: f('node-key.pem') };
}

/** A nats-server `tls` block presenting the certificate and checking peers against the CA. */
export const tlsBlock = (c: TestCerts): string =>
  `tls {\n  cert_file: "${c.cert}"\n  key_file: "${c.key}"\n  ca_file: "${c.ca}"\n}`;
