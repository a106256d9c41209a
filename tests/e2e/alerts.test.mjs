// Alerts: a supervisor acknowledges an open alert with a note; an inspector only reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_LOGINS, apiGet, apiLogin, assertNoErrors, demoAndBrowser, gotoRoute, login, newPage,
} from './harness.mjs';

const session = demoAndBrowser();

const COUNTY = '341322';

test('a supervisor acknowledges an open alert with a note', async () => {
  const token = await apiLogin(session.demo.url, DEMO_LOGINS.supervisor);
  const open = (await apiGet(session.demo.url, token, '/v1/alerts', { query: { unit: COUNTY, status: 'open' } })).alerts;
  assert.ok(open.length >= 3, `the demo should have open alerts, got ${open.length}`);
  const page = await newPage(session.browser);
  try {
    await login(page, session.demo.url, DEMO_LOGINS.supervisor.username, DEMO_LOGINS.supervisor.password);
    await gotoRoute(page, `#/alerts?unit=${COUNTY}&status=open`, 'alerts');
    const rows = page.locator('[data-testid=alerts-table] tbody tr[data-alert-id]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), open.length, 'the page should list every open alert of the county');
    assert.deepEqual(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.alertId))), new Set(open.map((a) => a.id)));

    // Filtering by kind keeps only that kind.
    const kind = open.find((a) => a.kind === 'record.outside') ? 'record.outside' : open[0].kind;
    await page.getByTestId('alerts-kind').selectOption(kind);
    await page.getByTestId('alerts-apply').click();
    // The table empties while the filtered list loads, and an empty table passes `every`: wait for rows.
    await page.waitForFunction((k) => {
      const trs = [...document.querySelectorAll('[data-testid=alerts-table] tbody tr[data-alert-id]')];
      return trs.length > 0 && trs.every((tr) => tr.dataset.kind === k);
    }, kind);
    assert.equal(await rows.count(), open.filter((a) => a.kind === kind).length, `the filter should keep the ${kind} alerts`);

    const row = rows.first();
    const id = await row.getAttribute('data-alert-id');
    await row.getByTestId('alert-ack').click();
    const note = page.getByTestId('alert-ack-note');
    await note.waitFor();
    assert.ok(await note.evaluate((e) => e === document.activeElement), 'the note field should get the focus');
    await note.fill('已电话核实：去邻村协调工作。');
    const answer = page.waitForResponse((r) => r.url().endsWith(`/v1/alerts/${id}/ack`));
    await page.getByTestId('alert-ack-submit').click();
    assert.equal((await answer).status(), 200, 'the acknowledgement should be accepted');
    const acked = page.locator(`[data-testid=alerts-table] tr[data-alert-id="${id}"][data-status=acknowledged]`);
    await acked.waitFor();
    assert.match(await acked.innerText(), /已电话核实：去邻村协调工作。/, 'the row should show the note');
    assert.equal(await acked.getByTestId('alert-ack').count(), 0, 'an acknowledged alert has no acknowledge button');

    const stored = (await apiGet(session.demo.url, token, '/v1/alerts', { query: { unit: COUNTY, status: 'acknowledged' } })).alerts.find((a) => a.id === id);
    assert.ok(stored, 'the server should list the alert as acknowledged');
    assert.equal(stored.ack?.note, '已电话核实：去邻村协调工作。', 'the server should keep the note');
    assertNoErrors(page, 'the alerts page');
  } finally {
    await page.context().close();
  }
});

test('an inspector reads alerts but cannot acknowledge them', async () => {
  const page = await newPage(session.browser);
  try {
    await login(page, session.demo.url, DEMO_LOGINS.inspector.username, DEMO_LOGINS.inspector.password);
    await gotoRoute(page, `#/alerts?unit=${COUNTY}&status=open`, 'alerts');
    await page.locator('[data-testid=alerts-table] tbody tr[data-alert-id]').first().waitFor();
    assert.equal(await page.getByTestId('alert-ack').count(), 0, 'an inspector should see no acknowledge buttons');
    assertNoErrors(page, 'the alerts page as inspector');
  } finally {
    await page.context().close();
  }
});
