import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clickhouseError } from '@tollgate/core';
import { explainFailure, serverMessage } from './failures.ts';

const where = {
  kafka: { brokers: ['kafka-1:9093'] },
  clickhouse: { url: 'https://ch.internal:8443', database: 'tollgate', username: 'tollgate_ro' },
  local: { kafka: false, clickhouse: false },
};

describe('serverMessage', () => {
  it("keeps the server's sentence and code, from 18.16's format and from current ClickHouse's", () => {
    assert.equal(
      serverMessage(
        "clickhouse query failed: Code: 81, e.displayText() = DB::Exception: Database x doesn't exist, e.what() = DB::Exception",
      ),
      "Database x doesn't exist (code 81)",
    );
    assert.equal(
      serverMessage(
        'clickhouse query failed: Code: 81. DB::Exception: Database x does not exist. (UNKNOWN_DATABASE) (version 26.9.1.1 (official build))',
      ),
      'Database x does not exist (code 81)',
    );
    assert.equal(serverMessage('socket hang up'), 'socket hang up');
  });
});

describe('explainFailure', () => {
  it("names CLICKHOUSE_USER and CLICKHOUSE_PASSWORD for current ClickHouse's AUTHENTICATION_FAILED", () => {
    const err = clickhouseError(
      'query',
      Object.assign(
        new Error(
          'Code: 516. DB::Exception: tollgate_ro: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version 26.9.1.1 (official build))',
        ),
        { code: '516' },
      ),
    );
    assert.equal(
      explainFailure(err, where),
      'ClickHouse at https://ch.internal:8443 refused user tollgate_ro (tollgate_ro: Authentication failed: ' +
        'password is incorrect, or there is no user with such name (code 516)); check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD',
    );
  });

  it('leaves other failures to their own message', () => {
    const syntax = clickhouseError(
      'query',
      Object.assign(new Error('Code: 62. DB::Exception: Syntax error'), { code: '62' }),
    );
    assert.equal(explainFailure(syntax, where), undefined);
    assert.equal(explainFailure(new Error('boom'), where), undefined);
  });
});
