"""The relay: forwards what relayed robots accept to their upstream DingTalk webhook, signed,
paced, retried, folded into digests when the backlog outgrows the pace, never twice."""
