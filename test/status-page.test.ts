/**
 * The `status` exporter's page in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) loads `/status` from an agent fed by `demo` traffic plus requests of an API named
 * `<script>alert(1)</script>`. The rendered DOM shows every API, SLO and exporter, the hostile name as
 * text (escaped, no script element, no dialog), sparklines with data, and the console stays clean. A
 * screenshot is saved as a test artifact (`TEST_ARTIFACTS_DIR`, default <tmp>/tyk-otel-pump-artifacts);
 * `UPDATE_DOCS_SCREENSHOT=1` also copies it to docs/status-page.png for the README.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { HOSTILE_API_NAME, startDemoAgent, type DemoAgent } from './helpers/demo-agent.js';
import { waitFor } from './helpers/agent.js';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const ARTIFACTS = process.env['TEST_ARTIFACTS_DIR'] ?? join(tmpdir(), 'tyk-otel-pump-artifacts');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('the /status page in headless Chromium', { timeout: 180_000 }, () => {
  let demo: DemoAgent;
  let browser: BrowserContext | undefined;
  let profile: string;

  before(async () => {
    demo = await startDemoAgent({
      rate: 100,
      extraExporters: '  status: { endpoint: 127.0.0.1:0, window: 1m, resolution: 2s }',
      pipelineExporters: ['status'],
    });
    profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await demo?.stop();
    await rm(profile, { recursive: true, force: true });
  });

  it('serves a self-contained page with a strict CSP', async () => {
    const r = await fetch(`${demo.agent.telemetryUrl}/status`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await r.text();
    assert.doesNotMatch(html, /<script|src=["']?https?:|href=["']?https?:/i);
  });

  it('shows every API (the hostile name escaped), SLO, the drain and every exporter; runs no script; logs no console error', async () => {
    const url = `${demo.agent.telemetryUrl}/status`;
    // Enough slots for sparklines: traffic of every demo API, the hostile API, the SLO gauges, a drain rate.
    await waitFor('the page to show traffic, SLOs and the drain', async () => {
      const html = await (await fetch(url)).text();
      return html.includes('&lt;script&gt;alert(1)&lt;/script&gt;') && html.includes('orders-availability') && html.includes('otlp_http') && (html.match(/<path /g) ?? []).length > 20;
    }, 60_000, 1000);
    // A few more slots for the sparklines (most of the window for the README's copy).
    await new Promise((r) => setTimeout(r, process.env['UPDATE_DOCS_SCREENSHOT'] === '1' ? 50_000 : 6000));

    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    const dialogs: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const response = await page.goto(url, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);

    // Evaluated in the page (a string: the test's TypeScript has no DOM types).
    const dom = (await page.evaluate(`(() => {
      const texts = (sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent || '');
      return {
        scripts: document.querySelectorAll('script').length,
        apiNames: texts('#apis td.name'),
        sloNames: texts('#slos td.name'),
        exporters: texts('#exporters td.name'),
        drainCards: document.querySelectorAll('#drain .card').length,
        sparklinesWithData: [...document.querySelectorAll('svg.spark')].filter((s) => s.querySelector('path')).length,
        sparklines: document.querySelectorAll('svg.spark').length,
      };
    })()`)) as { scripts: number; apiNames: string[]; sloNames: string[]; exporters: string[]; drainCards: number; sparklinesWithData: number; sparklines: number };
    assert.equal(dom.scripts, 0, 'no script element in the DOM');
    assert.ok(dom.apiNames.includes(HOSTILE_API_NAME), `the hostile API name rendered as text: ${JSON.stringify(dom.apiNames)}`);
    for (const name of ['Orders API', 'Payments API', 'Users API', 'Catalog GraphQL', 'Assistant MCP', 'Inventory API']) assert.ok(dom.apiNames.includes(name), `${name} in ${JSON.stringify(dom.apiNames)}`);
    assert.deepEqual([...dom.sloNames].sort(), ['all-availability', 'orders-availability', 'payments-latency']);
    for (const id of ['file', 'otlp_http', 'prometheus', 'status']) assert.ok(dom.exporters.includes(id), `${id} in ${JSON.stringify(dom.exporters)}`);
    assert.equal(dom.drainCards, 3);
    assert.ok(dom.sparklinesWithData >= dom.apiNames.length * 3, `sparklines with data: ${dom.sparklinesWithData} of ${dom.sparklines}`);
    assert.deepEqual(dialogs, [], 'no script ran (alert opens a dialog)');
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(requests.filter((u) => u !== url), [], 'no request besides the page itself');

    await mkdir(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env['UPDATE_DOCS_SCREENSHOT'] === '1') await copyFile(shot, join(ROOT, 'docs', 'status-page.png'));
  });
});
