// Smoke test: the binary serves the web console at / and the page loads without errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoErrors, launchBrowser, newPage, screenshot, startDemo } from './harness.mjs';

test('the demo serves the web console at / and it loads without errors', async (t) => {
  const demo = await startDemo();
  t.diagnostic(`demo answered /healthz after ${demo.startupMs} ms at ${demo.url}`);
  let browser;
  try {
    const response = await fetch(`${demo.url}/`, { signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    if (response.status === 404) {
      assert.fail(
        'GET / answered 404: this fieldtrail binary does not serve the web console yet ' +
          '(the console under api/console/ is not wired into the router, or FIELDTRAIL_BIN is an older build)',
      );
    }
    assert.equal(response.status, 200, `GET / answered ${response.status}: ${body.slice(0, 200)}`);
    const type = response.headers.get('content-type') ?? '';
    assert.match(type, /^text\/html\b/, `GET / should be HTML, got content-type "${type}"`);
    assert.match(body, /<html[\s>]/i, 'GET / should be an HTML document');

    browser = await launchBrowser();
    const page = await newPage(browser);
    const loaded = await page.goto(`${demo.url}/`, { waitUntil: 'load', timeout: 30_000 });
    assert.equal(loaded?.status(), 200, 'the browser got a 200 for /');
    // Give scripts a moment to run and fetch what they need; a page that keeps polling is fine.
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await screenshot(page, 'console-start');
    assertNoErrors(page, 'the console at /');
  } finally {
    await browser?.close();
    await demo.stop();
  }
});
