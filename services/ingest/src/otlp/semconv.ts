/**
 * The attribute names the OTLP mapping reads. OpenTelemetry GenAI semantic conventions (development
 * status, checked against the attribute registry at opentelemetry.io/docs/specs/semconv/registry/
 * attributes/gen-ai), the older names still emitted by instrumentations on semconv <= 1.36, and
 * Tollgate's own `tollgate.*` attributes for what the conventions do not name.
 */

export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  /** Replaced by gen_ai.provider.name in semconv 1.37; still the default of older instrumentations. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  /** Subset of input_tokens ("SHOULD be included in gen_ai.usage.input_tokens"). */
  cacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  /** Subset of input_tokens. The conventions carry no TTL: Tollgate books these as 5-minute writes. */
  cacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  /** Subset of output_tokens. */
  reasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  /** Deprecated names (semconv < 1.27) for input and output tokens. */
  promptTokens: 'gen_ai.usage.prompt_tokens',
  completionTokens: 'gen_ai.usage.completion_tokens',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  conversationId: 'gen_ai.conversation.id',
  toolName: 'gen_ai.tool.name',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  /** OpenAI service tier, response first (what was actually used), then request. */
  openaiResponseServiceTier: 'openai.response.service_tier',
  openaiRequestServiceTier: 'openai.request.service_tier',
  errorType: 'error.type',
} as const;

/** Operations that bill model tokens (model_call events). */
export const MODEL_OPERATIONS: ReadonlySet<string> = new Set([
  'chat',
  'text_completion',
  'generate_content',
  'embeddings',
]);

export const TOOL_OPERATION = 'execute_tool';

/**
 * Agent spans. Their usage attributes, when present, sum the model calls made inside them, which are
 * counted from their own spans: billing the agent span too would count the same tokens twice.
 */
export const AGENT_OPERATIONS: ReadonlySet<string> = new Set(['invoke_agent', 'create_agent']);

/** Resource attributes. */
export const RESOURCE = {
  environmentName: 'deployment.environment.name',
  /** Deprecated in semconv 1.27 for deployment.environment.name. */
  environment: 'deployment.environment',
} as const;

/** Tollgate's attributes: resource attributes, which a span attribute of the same name overrides. */
export const TOLLGATE = {
  orgId: 'tollgate.org_id',
  feature: 'tollgate.feature',
  customerId: 'tollgate.customer_id',
  runId: 'tollgate.run_id',
  parentAgentId: 'tollgate.parent_agent_id',
  agentDepth: 'tollgate.agent_depth',
  /** `tollgate.tag.<name>` becomes tag `<name>`. */
  tagPrefix: 'tollgate.tag.',
} as const;

/** Token attributes whose presence makes a span carry usage. */
export const USAGE_ATTRIBUTES: readonly string[] = [
  GEN_AI.inputTokens,
  GEN_AI.outputTokens,
  GEN_AI.cacheReadInputTokens,
  GEN_AI.cacheCreationInputTokens,
  GEN_AI.reasoningOutputTokens,
  GEN_AI.promptTokens,
  GEN_AI.completionTokens,
];
