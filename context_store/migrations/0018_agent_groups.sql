-- Agents' groups: a `[[blending]]` rule names a group, and its agents' capacities switch while the rule is
-- in force (docs/blending.md).
ALTER TABLE agents ADD COLUMN groups text[] NOT NULL DEFAULT '{}';
