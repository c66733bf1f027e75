-- segment_scorings: the scorings replayed into the membership history.
--
-- grain: one row per scoring moment (as_of) of segment_members
--
-- Written by cxdata.activation.membership.update_membership; a scoring whose run_id here differs from
-- segment_summary's (a rerun at that as_of) is replayed again. No personal data.

comment on table segment_scorings is 'Which scorings of segment_members the membership history holds, with how many members they had and how many entries and exits they brought. No personal data. Key: as_of.';
comment on column segment_scorings.as_of is 'The scoring moment, UTC.';
comment on column segment_scorings.run_id is 'The orchestrator run of the scoring replayed (a rerun at the same as_of replaces it).';
comment on column segment_scorings.members is 'Members of all segments at that scoring.';
comment on column segment_scorings.entered is 'Entries into a segment at that scoring.';
comment on column segment_scorings.exited is 'Exits from a segment at that scoring.';
comment on column segment_scorings.replayed_at is 'When the run that replayed it started, UTC.';
comment on column segment_scorings.replayed_run_id is 'The orchestrator run that replayed it.';
