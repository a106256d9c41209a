// The roster import (admin): a sheet with one bad cell is refused with a report naming exactly
// that cell and nothing is stored; the corrected sheet is checked, imported and counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_LOGINS, allowHttpErrors, apiGet, apiLogin, assertNoErrors, demoAndBrowser, findPerson, gotoRoute, login,
  newPage, screenshot,
} from './harness.mjs';

const session = demoAndBrowser();

const HEADER = ['类型', '用户名', '姓名', '角色', '单位代码', '电话', '初始密码', '职务', '户主姓名', '人口', '经度', '纬度', '起始日期', '结束日期'];
const USERNAME = 'e2e-import-cadre';
const VILLAGE = '341322100201';

// A roster CSV (UTF-8 with BOM, CRLF, as Excel saves it): a new cadre (row 2) and their
// assignment to 城东村 (row 3) from `validFrom`.
function rosterCsv(validFrom) {
  const rows = [
    HEADER,
    ['人员', USERNAME, '测试导入干部', '驻村干部', VILLAGE, '13800000000', 'e2e-initial-pass', '', '', '', '', '', '', ''],
    ['驻村', USERNAME, '', '', VILLAGE, '', '', '工作队员', '', '', '', '', validFrom, ''],
  ];
  return Buffer.from(`\ufeff${rows.map((r) => r.join(',')).join('\r\n')}\r\n`, 'utf8');
}

async function chooseFile(page, buffer) {
  await page.getByTestId('import-file').setInputFiles({ name: 'roster.csv', mimeType: 'text/csv', buffer });
}

// The counts table of a successful check or import: {people: [created, unchanged], …}.
async function counts(page) {
  const rows = await page.locator('[data-testid=import-counts] tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
  const keys = ['people', 'households', 'assignments', 'pairings'];
  return Object.fromEntries(rows.map((cells, i) => [keys[i], [Number(cells[1]), Number(cells[2])]]));
}

async function importWith(page, testid) {
  const answer = page.waitForResponse((r) => r.url().includes('/v1/roster/import') && r.request().method() === 'POST');
  await page.getByTestId(testid).click();
  return answer;
}

test('an admin imports a roster: one bad cell is reported alone, the fixed sheet is imported', async (t) => {
  const token = await apiLogin(session.demo.url, DEMO_LOGINS.admin);
  assert.equal(await findPerson(session.demo.url, token, USERNAME), null, `${USERNAME} should not exist before the import`);
  const page = await newPage(session.browser);
  try {
    await login(page, session.demo.url, DEMO_LOGINS.admin.username, DEMO_LOGINS.admin.password);
    await gotoRoute(page, '#/admin', 'admin');
    await page.getByTestId('admin-tab-import').click();
    await page.locator('[data-page=admin][data-tab=import]').waitFor();
    await page.getByTestId('import-form').waitFor();

    // 1. 2026-02-30 is no date: the import is refused, the report names that one cell.
    const refused = allowHttpErrors(page, 422, '/v1/roster/import');
    await chooseFile(page, rosterCsv('2026-02-30'));
    const bad = await importWith(page, 'import-run');
    assert.equal(bad.status(), 422, 'a sheet with a bad cell should be refused with 422');
    const report = page.locator('[data-testid=import-report] tbody tr');
    await report.first().waitFor();
    const cells = await report.evaluateAll((trs) => trs.map((tr) => ({ row: tr.dataset.row, column: tr.dataset.column, pointer: tr.dataset.pointer, text: tr.textContent })));
    t.diagnostic(`report: ${JSON.stringify(cells)}`);
    assert.equal(cells.length, 1, `the report should list exactly one bad cell, got ${JSON.stringify(cells)}`);
    assert.deepEqual({ row: cells[0].row, column: cells[0].column, pointer: cells[0].pointer }, { row: '3', column: 'M', pointer: '/rows/3/起始日期' },
      'the bad cell should be row 3, column M (起始日期) of the assignment row');
    assert.match(cells[0].text, /起始日期/, 'the report should name the column header');
    assert.match(cells[0].text, /date/i, 'the report should give the reason (not a date)');
    assert.equal((await refused.waitFor(1)).length, 1, 'the one 422 should be the only error logged');
    assert.equal(await findPerson(session.demo.url, token, USERNAME), null, 'nothing should be stored from a refused sheet, not even the good person row');
    await screenshot(page, 'admin-import-report');

    // 2. Fixed: a dry run first, then the import.
    await chooseFile(page, rosterCsv('2026-12-01'));
    const check = await importWith(page, 'import-check');
    assert.equal(check.status(), 200, 'the corrected sheet should pass the check');
    await page.locator('[data-testid=import-result][data-dry-run=true]').waitFor();
    assert.equal(await report.count(), 0, 'the report of the bad cell should be gone');
    assert.deepEqual(await counts(page), { people: [1, 0], households: [0, 0], assignments: [1, 0], pairings: [0, 0] },
      'the check should say it would create one person and one assignment');
    assert.equal(await findPerson(session.demo.url, token, USERNAME), null, 'a check stores nothing');

    const run = await importWith(page, 'import-run');
    assert.equal(run.status(), 200, 'the corrected sheet should be imported');
    await page.locator('[data-testid=import-result][data-dry-run=false]').waitFor();
    assert.match(await page.getByTestId('import-result').locator('h3').innerText(), /roster\.csv.*2/, 'the result names the file and its 2 rows');
    assert.deepEqual(await counts(page), { people: [1, 0], households: [0, 0], assignments: [1, 0], pairings: [0, 0] },
      'the import should have created one person and one assignment');
    await screenshot(page, 'admin-import-done');

    // 3. The person exists, with the assignment, and must choose a password at first login.
    const person = await findPerson(session.demo.url, token, USERNAME);
    assert.ok(person, `${USERNAME} should exist after the import`);
    assert.deepEqual({ display_name: person.display_name, role: person.role, unit_code: person.unit_code, must_change_password: person.must_change_password },
      { display_name: '测试导入干部', role: 'cadre', unit_code: VILLAGE, must_change_password: true }, 'the imported person as the sheet says');
    const assignments = await apiGet(session.demo.url, token, `/v1/people/${person.id}/assignments`);
    assert.deepEqual(assignments.items.map((a) => [a.unit_code, a.role, a.valid_from, a.valid_to ?? null]), [[VILLAGE, 'team_member', '2026-12-01', null]],
      'the imported assignment as the sheet says');

    // 4. The same sheet again creates nothing.
    await chooseFile(page, rosterCsv('2026-12-01'));
    const again = await importWith(page, 'import-run');
    assert.equal(again.status(), 200);
    await page.locator('[data-testid=import-result][data-dry-run=false]').waitFor();
    await page.locator('[data-testid=import-counts] tbody tr:first-child td:last-child', { hasText: '1' }).waitFor();
    assert.deepEqual(await counts(page), { people: [0, 1], households: [0, 0], assignments: [0, 1], pairings: [0, 0] },
      'importing the same sheet again should leave everything unchanged');
    assertNoErrors(page, 'the import tab');
  } finally {
    await page.context().close();
  }
});
