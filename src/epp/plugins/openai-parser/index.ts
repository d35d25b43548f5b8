// openai-parser: the OpenAI request parser (completions, chat, responses, conversations, embeddings); the ext_proc
// handler does the parsing, this entry only lets upstream configs that name it load.

import type { PluginRegistration } from '../../scheduling/registry';

export const openaiParser: PluginRegistration = {
  type: 'openai-parser',
  description: 'Parses OpenAI-style request bodies (the only parser; accepted for config compatibility).',
  factory: (name, p) => {
    p.finish();
    return { type: 'openai-parser', name };
  },
};
