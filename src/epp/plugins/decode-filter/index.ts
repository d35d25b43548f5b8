// decode-filter: keeps the endpoints that may decode (llm-d.ai/role decode, prefill-decode, both,
// encode-prefill-decode, or no role label). The rule is shared with prefill-filter (plugins/prefill-filter).

import { roleFilter } from '../prefill-filter';

export const decodeFilter = roleFilter('decode');
