/**
 * How a client reaches the brokers: addresses, TLS, SASL. Apart from kafka.ts so that code which only
 * describes a connection (config, the SDK's public types) does not load kafkajs.
 */

/** TLS to the brokers: `true` for the system's CAs, or Node TLS options (a private CA, a client certificate). */
export type KafkaSsl = boolean | { ca?: string; cert?: string; key?: string };

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** SASL authentication; PLAIN and SCRAM are what managed Kafka services (MSK, Confluent, Aiven) offer. */
export type KafkaSasl = {
  [M in SaslMechanism]: { mechanism: M; username: string; password: string };
}[SaslMechanism];

/** Where the brokers are and how to reach them: every client of Tollgate takes this one shape. */
export interface KafkaConnection {
  brokers: string[];
  ssl?: KafkaSsl | undefined;
  sasl?: KafkaSasl | undefined;
}
