/**
 * The README's example agent, kept here so it is type-checked and run by a test against the real
 * broker (support-agent.int.test.ts). It answers a support ticket: retrieves context, plans with
 * Claude, fans out researchers that search the web with GPT, lets one of them run code in a sandbox,
 * and summarises with Gemini over a context cache. Every SDK call appears once at least.
 *
 * The provider clients are typed by the parts of the official SDKs this uses (`messages.create`,
 * `chat.completions.create`, `models.generateContent`), so the real clients drop in.
 */
import {
  type Agent,
  type AnthropicUsage,
  CeilingExceededError,
  fromAnthropicUsage,
  fromGeminiUsage,
  fromOpenAIUsage,
  type GeminiUsage,
  type Meter,
  type OpenAIUsage,
} from '../index.ts';

export interface Clients {
  anthropic: {
    messages: {
      create(req: {
        model: string;
        max_tokens: number;
        messages: { role: 'user'; content: string }[];
      }): Promise<{
        content: { type: string; text?: string }[];
        usage: AnthropicUsage;
      }>;
    };
  };
  openai: {
    chat: {
      completions: {
        create(req: { model: string; messages: { role: 'user'; content: string }[] }): Promise<{
          choices: { message: { content: string | null } }[];
          usage?: OpenAIUsage;
          service_tier?: string | null;
        }>;
      };
    };
  };
  gemini: {
    models: {
      generateContent(req: {
        model: string;
        contents: string;
        config?: { cachedContent?: string };
      }): Promise<{
        text?: string;
        usageMetadata?: GeminiUsage;
      }>;
    };
  };
  /** Your vector index: matches plus the read units the query consumed. */
  searchIndex(query: string): Promise<{ passages: string[]; readUnits: number; embeddingTokens: number }>;
  /** A web search API. */
  webSearch(query: string): Promise<string[]>;
  /** Runs code in a sandbox; what the sandbox provider meters. */
  runInSandbox(code: string): Promise<{
    sandboxId: string;
    vcpuSeconds: number;
    gibSeconds: number;
    downloadedBytes: number;
    output: string;
  }>;
}

export interface Ticket {
  id: string;
  customerId: string;
  question: string;
}

/** Asks Claude, after checking the request against the run's ceilings; records what it used. */
async function askClaude(agent: Agent, clients: Clients, prompt: string): Promise<string> {
  const model = 'claude-sonnet-4-5';
  const maxTokens = 2_048;
  // Before the call: refuses (CeilingExceededError) if it could push the run past a ceiling.
  agent.checkRequest({
    provider: 'anthropic',
    model,
    inputTokens: Math.ceil(prompt.length / 3),
    maxOutputTokens: maxTokens,
  });
  const started = performance.now();
  const reply = await clients.anthropic.messages.create({
    model,
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: prompt }],
  });
  // Synchronous while the SDK's buffer has room; a promise only under backpressure.
  await agent.recordModelCall({
    provider: 'anthropic',
    model,
    usage: fromAnthropicUsage(reply.usage),
    durationMs: performance.now() - started,
  });
  return reply.content.map((block) => block.text ?? '').join('');
}

async function research(researcher: Agent, clients: Clients, topic: string): Promise<string> {
  const started = performance.now();
  const results = await clients.webSearch(topic);
  await researcher.recordToolCall({
    toolName: 'web_search',
    provider: 'tavily',
    args: { topic },
    durationMs: performance.now() - started,
  });
  const completion = await clients.openai.chat.completions.create({
    model: 'gpt-5-mini',
    messages: [{ role: 'user', content: `Summarise for a support agent:\n${results.join('\n')}` }],
  });
  if (completion.usage)
    await researcher.recordModelCall({
      provider: 'openai',
      model: 'gpt-5-mini',
      serviceTier: completion.service_tier ?? undefined,
      usage: fromOpenAIUsage(completion.usage),
    });
  return completion.choices[0]?.message.content ?? '';
}

export async function answerTicket(meter: Meter, clients: Clients, ticket: Ticket): Promise<string> {
  const run = await meter.startRun({
    agentName: 'support-triage',
    trigger: 'ticket',
    customer_id: ticket.customerId,
    tags: { ticket: ticket.id },
  });
  try {
    const context = await clients.searchIndex(ticket.question);
    await run.recordRetrieval({
      provider: 'pinecone',
      queries: 1,
      readUnits: context.readUnits,
      embeddingTokens: context.embeddingTokens,
      embeddingModel: 'text-embedding-3-small',
      indexName: 'support-kb',
    });
    const plan = await askClaude(
      run,
      clients,
      `Ticket: ${ticket.question}\nContext: ${context.passages.join('\n')}\nList 3 topics to research.`,
    );

    // Asks for three researchers; gets as many as the subagent ceiling still allows (maybe fewer).
    const researchers = await run.spawnMany(3, { name: 'researcher' });
    const findings = await Promise.all(researchers.map((r, i) => research(r, clients, `${plan} #${i + 1}`)));

    // One researcher hands a reproduction to a coder subagent (depth 2) that runs it in a sandbox.
    if (researchers[0]) {
      const coder = await researchers[0].spawn({ name: 'coder' });
      const sandbox = await clients.runInSandbox(`reproduce(${JSON.stringify(ticket.question)})`);
      await coder.recordSandbox({
        provider: 'e2b',
        sandboxId: sandbox.sandboxId,
        vcpuSeconds: sandbox.vcpuSeconds,
        gibSeconds: sandbox.gibSeconds,
      });
      await coder.recordEgress({ provider: 'aws', bytes: sandbox.downloadedBytes, destination: 'internet' });
      findings.push(sandbox.output);
    }

    // Gemini over an explicit context cache of the knowledge base: the cache's storage is billed by
    // token-hour, apart from the tokens read from it.
    const summary = await clients.gemini.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: `Answer the customer using:\n${findings.join('\n')}`,
      config: { cachedContent: 'cachedContents/support-kb' },
    });
    if (summary.usageMetadata)
      await run.recordModelCall({
        provider: 'google',
        model: 'gemini-2.5-flash',
        usage: fromGeminiUsage(summary.usageMetadata),
      });
    await run.recordCacheStorage({ provider: 'google', model: 'gemini-2.5-flash', tokenHours: 32_768 / 60 });

    await run.end('success');
    return summary.text ?? '';
  } catch (err) {
    // A ceiling stops the run on purpose: record it as cancelled, not failed.
    await run.end(err instanceof CeilingExceededError ? 'cancelled' : 'failure');
    throw err;
  }
}
