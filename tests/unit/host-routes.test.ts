import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable, parseTemplate, splitPath } from '../../local/functions-host/routes';

function table(): RouteTable<string> {
  const t = new RouteTable<string>();
  t.add('items/{id:int}', ['GET', 'DELETE'], 'item');
  t.add('items/new', ['GET'], 'new');
  t.add('greet/{name?}', ['GET', 'POST'], 'greet');
  t.add('files/{*path}', ['GET'], 'files');
  t.add('orders/{id:guid}/lines/{line:int?}', undefined, 'lines');
  t.add('Hello', ['POST'], 'hello');
  return t;
}

const match = (t: RouteTable<string>, method: string, path: string) => t.match(method, splitPath(path));

test('literal routes beat parameter routes; constraints filter', () => {
  const t = table();
  assert.deepEqual(match(t, 'GET', '/items/new').found, { value: 'new', params: {} });
  assert.deepEqual(match(t, 'GET', '/items/42').found, { value: 'item', params: { id: '42' } });
  assert.equal(match(t, 'GET', '/items/abc').found, undefined);
});

test('optional parameters and catch-alls', () => {
  const t = table();
  assert.deepEqual(match(t, 'GET', '/greet').found?.params, {});
  assert.deepEqual(match(t, 'POST', '/greet/ann').found?.params, { name: 'ann' });
  assert.deepEqual(match(t, 'GET', '/files/a/b/c.txt').found?.params, { path: 'a/b/c.txt' });
  assert.deepEqual(match(t, 'GET', '/files').found?.params, {});
  const id = '6f9619ff-8b86-d011-b42d-00cf4fc964ff';
  assert.deepEqual(match(t, 'PATCH', `/orders/${id}/lines/3`).found?.params, { id, line: '3' });
  assert.equal(match(t, 'GET', '/orders/nope/lines').found, undefined);
});

test('literals match case-insensitively; percent-encoding is decoded', () => {
  const t = table();
  assert.equal(match(t, 'POST', '/hello').found?.value, 'hello');
  assert.deepEqual(match(t, 'GET', '/greet/a%20b').found?.params, { name: 'a b' });
});

test('wrong method reports the allowed ones (405); unknown path reports nothing (404)', () => {
  const t = table();
  assert.deepEqual(match(t, 'PUT', '/items/1'), { allowed: ['DELETE', 'GET'] });
  assert.deepEqual(match(t, 'GET', '/nothing/here'), {});
});

test('bad templates are rejected', () => {
  assert.throws(() => parseTemplate('a/{*rest}/b'), /catch-all/);
  assert.throws(() => parseTemplate('a/{bad'), /not supported/);
});
