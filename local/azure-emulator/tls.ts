// Local certificate authority: made once per data folder, then reused, so that a client process
// started with NODE_EXTRA_CA_CERTS=<caBundle> trusts every later run of the emulator too.
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import forge from 'node-forge';

export interface TlsMaterial {
  caCertFile: string;
  caBundle: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  ca: string;
}

const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function rsaKeyPair(): { publicKey: forge.pki.PublicKey; privateKey: forge.pki.PrivateKey; privatePem: string } {
  // Node's native generator: forge's pure-JS RSA takes seconds on a small machine.
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const priv = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e);
  return { publicKey: pub, privateKey: priv, privatePem: privateKey };
}

function serial(): string {
  // Positive serial number: clear the top bit.
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

function makeCa(): { certPem: string; keyPem: string } {
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const attrs = [
    { name: 'commonName', value: 'aci-batch local azure emulator CA' },
    { name: 'organizationName', value: 'aci-batch' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

function makeServerCert(caCertPem: string, caKeyPem: string): { certPem: string; keyPem: string } {
  const caCert = forge.pki.certificateFromPem(caCertPem);
  const caKey = forge.pki.privateKeyFromPem(caKeyPem);
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  // Under 825 days: some TLS stacks reject longer server certificates.
  cert.validity.notAfter = new Date(Date.now() + 800 * 24 * 3600 * 1000);
  cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
        { type: 2, value: 'localhost' },
        { type: 2, value: '*.localhost' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

function stillValid(certPem: string, days: number): boolean {
  try {
    const x = new X509Certificate(certPem);
    return new Date(x.validTo).getTime() > Date.now() + days * 24 * 3600 * 1000;
  } catch {
    return false;
  }
}

/** The bundle = the system bundle the process already trusts (NODE_EXTRA_CA_CERTS or Debian's) + our CA. */
function systemBundle(ownBundle: string): string {
  const fromEnv = process.env.NODE_EXTRA_CA_CERTS;
  const candidates = [fromEnv, SYSTEM_BUNDLE].filter((p): p is string => !!p && resolve(p) !== resolve(ownBundle));
  for (const p of candidates) {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      // try the next one
    }
  }
  return '';
}

export function ensureTls(dataDir: string): TlsMaterial {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCertFile = join(dir, 'ca.crt');
  const caKeyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const caBundle = join(dir, 'ca-bundle.pem');

  if (!existsSync(caCertFile) || !existsSync(caKeyFile) || !stillValid(readFileSync(caCertFile, 'utf8'), 30)) {
    const ca = makeCa();
    writeFileSync(caKeyFile, ca.keyPem, { mode: 0o600 });
    writeFileSync(caCertFile, ca.certPem);
  }
  const ca = readFileSync(caCertFile, 'utf8');
  let serverOk = existsSync(certFile) && existsSync(keyFile) && stillValid(readFileSync(certFile, 'utf8'), 7);
  if (serverOk) {
    // A server certificate left from an earlier CA must be re-issued.
    serverOk = new X509Certificate(readFileSync(certFile)).checkIssued(new X509Certificate(ca));
  }
  if (!serverOk) {
    const s = makeServerCert(ca, readFileSync(caKeyFile, 'utf8'));
    writeFileSync(keyFile, s.keyPem, { mode: 0o600 });
    writeFileSync(certFile, s.certPem);
  }
  const base = systemBundle(caBundle).trimEnd();
  const bundle = base.includes(ca.trim()) ? base + '\n' : (base ? base + '\n' : '') + ca;
  writeFileSync(caBundle, bundle);
  return {
    caCertFile,
    caBundle,
    certFile,
    keyFile,
    ca,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
  };
}
