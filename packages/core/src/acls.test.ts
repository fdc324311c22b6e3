import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aclRules, kafkaAclsCommands } from './acls.ts';
import { prefixedTopicNames, TOPIC_NAMES } from './topics.ts';

describe('Kafka ACLs per client', () => {
  it('gives the pricer its topics, its groups and its transactional ids, by prefix where names vary', () => {
    assert.deepEqual(aclRules('pricer', { topics: TOPIC_NAMES }), [
      { resource: 'topic', name: 'tollgate.usage.v1', pattern: 'literal', operations: ['READ', 'DESCRIBE'] },
      {
        resource: 'topic',
        name: 'tollgate.ratecards.v1',
        pattern: 'literal',
        operations: ['READ', 'DESCRIBE'],
      },
      {
        resource: 'topic',
        name: 'tollgate.priced.v1',
        pattern: 'literal',
        operations: ['WRITE', 'DESCRIBE'],
      },
      { resource: 'topic', name: 'tollgate.dlq.v1', pattern: 'literal', operations: ['WRITE', 'DESCRIBE'] },
      { resource: 'group', name: 'tollgate-pricer', pattern: 'prefixed', operations: ['READ', 'DESCRIBE'] },
      {
        resource: 'transactional-id',
        name: 'tollgate-pricer',
        pattern: 'prefixed',
        operations: ['WRITE', 'DESCRIBE'],
      },
    ]);
  });

  it('follows TOPIC_PREFIX, GROUP_ID and TRANSACTIONAL_ID_PREFIX; producers get no group', () => {
    const rules = aclRules('detector', {
      topics: prefixedTopicNames('staging.'),
      groupId: 'det-a',
      transactionalIdPrefix: 'det-a-tx',
    });
    assert.ok(
      rules.filter((r) => r.resource === 'topic').every((r) => r.name.startsWith('staging.tollgate.')),
    );
    assert.deepEqual(
      rules.filter((r) => r.resource !== 'topic').map((r) => `${r.resource}:${r.name}`),
      ['group:det-a', 'transactional-id:det-a-tx'],
    );
    assert.deepEqual(aclRules('agent', { topics: TOPIC_NAMES }), [
      { resource: 'topic', name: 'tollgate.usage.v1', pattern: 'literal', operations: ['WRITE', 'DESCRIBE'] },
      {
        resource: 'topic',
        name: 'tollgate.policies.v1',
        pattern: 'literal',
        operations: ['READ', 'DESCRIBE'],
      },
      {
        resource: 'group',
        name: 'tollgate-sdk-policies',
        pattern: 'prefixed',
        operations: ['READ', 'DESCRIBE'],
      },
    ]);
  });

  it('lets a dead-letter replay write the usage topic and nothing else: it reads its letters from ClickHouse', () => {
    assert.deepEqual(aclRules('dlq-replay', { topics: prefixedTopicNames('staging.') }), [
      {
        resource: 'topic',
        name: 'staging.tollgate.usage.v1',
        pattern: 'literal',
        operations: ['WRITE', 'DESCRIBE'],
      },
    ]);
  });

  it('prints kafka-acls.sh commands that add exactly those rules', () => {
    const [topic, group] = kafkaAclsCommands(
      'User:svc-sink',
      aclRules('sink', { topics: TOPIC_NAMES }).filter((r) => r.name !== 'tollgate.priced.v1'),
      'b-1:9096',
    );
    assert.equal(
      topic,
      'kafka-acls.sh --bootstrap-server b-1:9096 --add --allow-principal User:svc-sink --operation Read --operation Describe --topic tollgate.alerts.v1',
    );
    assert.equal(
      kafkaAclsCommands('User:svc-sink', aclRules('sink', { topics: TOPIC_NAMES }), 'b-1:9096').at(-1),
      'kafka-acls.sh --bootstrap-server b-1:9096 --add --allow-principal User:svc-sink --operation Read --operation Describe --resource-pattern-type prefixed --group tollgate-sink',
    );
    assert.match(
      String(group),
      /--operation Read --operation Write --operation Describe --topic tollgate\.dlq\.v1$/,
    );
  });
});
