-- Classes: an instructor's class and its students' progress. A student is a lab (one
-- browser) under a display name. No foreign key to labs: an idle lab is deleted after a
-- while, and the class keeps its results for the instructor's export.
CREATE TABLE classes (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,   -- the join code students type
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE class_students (
    lab_id      TEXT PRIMARY KEY,       -- a lab is in at most one class
    class_id    TEXT NOT NULL REFERENCES classes(id),
    name        TEXT NOT NULL,
    joined_at   INTEGER NOT NULL
);
CREATE INDEX class_students_by_class ON class_students(class_id);

-- One row per thing a student did: a section seen, a lab run, a prediction or a quiz
-- answer. The first answer is kept beside the latest: it shows what the student thought
-- before the lab told them.
CREATE TABLE class_progress (
    lab_id         TEXT NOT NULL,
    kind           TEXT NOT NULL,       -- section | lab | prediction | quiz
    key            TEXT NOT NULL,
    first_answer   TEXT,
    first_correct  INTEGER,
    answer         TEXT,
    correct        INTEGER,
    seq            INTEGER NOT NULL,    -- order of first report, for sections' order
    at             INTEGER NOT NULL,
    PRIMARY KEY (lab_id, kind, key)
);
