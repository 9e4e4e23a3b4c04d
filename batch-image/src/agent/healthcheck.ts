// The image's HEALTHCHECK: GET /healthz on the agent's own address, exit 0 when it answers 200.
// Node's own client because the slim runtime image has no curl or wget.
import { get } from 'node:http';

const host =
  !process.env.HOST || process.env.HOST === '0.0.0.0'
    ? '127.0.0.1'
    : process.env.HOST === '::'
      ? '::1'
      : process.env.HOST;
const port = process.env.PORT || '8080';

const req = get({ host, port, path: '/healthz', timeout: 3_000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', () => process.exit(1));
