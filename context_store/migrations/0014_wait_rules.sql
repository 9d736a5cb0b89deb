-- A queue's rules about the customer's wait (docs/waiting.md): business hours and what a closed queue
-- does with an arrival, timed overflow, the most that may wait, and the questions asked while waiting.
-- One JSON object with the keys of router.contracts.waiting.WaitRules (the defaults left out).
ALTER TABLE queues ADD COLUMN wait_rules jsonb NOT NULL DEFAULT '{}';
