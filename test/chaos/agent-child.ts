/**
 * A real agent in its own process, for chaos tests that measure its memory (run with `fork`,
 * `--import tsx --expose-gc`). Env: `AGENT_YAML` (the config). Messages to the parent: `{type:'ready',
 * telemetryUrl}`; on `'mem'` a full GC then `{type:'mem', rss, heapUsed}`; on `'stop'` a clean shutdown, then exit.
 */
import { startAgent } from '../helpers/agent.js';

const agent = await startAgent(process.env['AGENT_YAML'] ?? '', { env: { TELEMETRY_ADDRESS: '127.0.0.1:0' } });
const send = (m: unknown) => process.send?.(m);
send({ type: 'ready', telemetryUrl: agent.telemetryUrl });
process.on('message', (m) => {
  if (m === 'mem') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const u = process.memoryUsage();
    send({ type: 'mem', rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers });
  } else if (m === 'stop') {
    void agent.stop().then(() => process.exit(0));
  }
});
