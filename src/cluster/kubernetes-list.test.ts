import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubernetesApiError } from './kubernetes-error.js';
import { listInPages } from './kubernetes-list.js';

/** A server answering from a script: each call's query recorded, each answer a body or a status. */
function scripted(answers: (unknown | number)[]) {
  const queries: Record<string, string>[] = [];
  const get = async (query: Readonly<Record<string, string>>) => {
    queries.push({ ...query });
    const answer = answers.shift();
    if (typeof answer === 'number') throw new KubernetesApiError(`${answer}`, answer);
    return answer;
  };
  return { get, queries };
}
const page = (items: number[], rv: string, token?: string) => ({
  metadata: { resourceVersion: rv, ...(token ? { continue: token } : {}) },
  items,
});

describe('listInPages', () => {
  test('follows the continue tokens; the items in order, the resource version of the pages', async () => {
    const s = scripted([page([1, 2], '10', 'a'), page([3, 4], '10', 'b'), page([5], '10')]);
    assert.deepEqual(await listInPages(s.get, 2), { resourceVersion: '10', items: [1, 2, 3, 4, 5] });
    assert.deepEqual(s.queries, [
      { limit: '2' },
      { limit: '2', continue: 'a' },
      { limit: '2', continue: 'b' },
    ]);
  });

  test('a 410 on a token: one whole list from the start, without a limit (followed if still paged)', async () => {
    const s = scripted([page([1, 2], '10', 'a'), 410, page([1, 2, 3], '12', 'x'), page([4], '12')]);
    assert.deepEqual(await listInPages(s.get, 2), { resourceVersion: '12', items: [1, 2, 3, 4] });
    assert.deepEqual(s.queries, [{ limit: '2' }, { limit: '2', continue: 'a' }, {}, { continue: 'x' }]);
  });

  test('a 410 on the first page, a second 410, a repeated token: errors', async () => {
    await assert.rejects(listInPages(scripted([410]).get, 2), { status: 410 });
    await assert.rejects(listInPages(scripted([page([1], '1', 'a'), 410, page([1], '2', 'b'), 410]).get, 2), {
      status: 410,
    });
    await assert.rejects(listInPages(scripted([page([1], '1', 'a'), page([2], '1', 'a')]).get, 2), {
      message: 'the list answer repeats its continue token',
    });
    await assert.rejects(listInPages(scripted([{ metadata: {} }]).get, 2), {
      message: 'the list answer has no items',
    });
  });
});
