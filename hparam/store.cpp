#include "hparam/store.hpp"

#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "runtime/core/errors.hpp"

namespace lb::hparam {
namespace {

using json = nlohmann::json;

const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE trials (
  id INTEGER PRIMARY KEY, stage INTEGER NOT NULL, stage_name TEXT NOT NULL, idx INTEGER NOT NULL,
  params TEXT NOT NULL, fidelity TEXT NOT NULL, budget_epochs REAL NOT NULL,
  status TEXT NOT NULL, objective REAL, epochs_done REAL NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
  command TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0,
  started_at REAL NOT NULL DEFAULT 0, finished_at REAL NOT NULL DEFAULT 0,
  wall_s REAL NOT NULL DEFAULT 0, summary TEXT NOT NULL DEFAULT '{}',
  job_id INTEGER NOT NULL DEFAULT 0, source_trial INTEGER NOT NULL DEFAULT 0, UNIQUE (stage, idx));
CREATE TABLE evals (trial_id INTEGER NOT NULL, epoch REAL NOT NULL, value REAL, record TEXT NOT NULL,
  PRIMARY KEY (trial_id, epoch));
CREATE TABLE estimates (trial_id INTEGER PRIMARY KEY, gpus INTEGER NOT NULL,
  time_to_train_s REAL NOT NULL, images_per_s REAL NOT NULL, efficiency REAL NOT NULL);
)sql";

// "FILE: sqlite WHAT: MESSAGE", so that a failing store names itself. A file
// that is not a database (or is corrupt) is bad input; anything else, such
// as a full disk, is a runtime failure.
[[noreturn]] void fail(sqlite3* db, const std::string& what, int rc, const std::string& message) {
  const char* file = sqlite3_db_filename(db, "main");
  const std::string text =
      std::string(file && *file ? file : "sweep.db") + ": sqlite " + what + ": " + message;
  const int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) throw InputError(text);
  throw std::runtime_error(text);
}

// One prepared statement; bind() takes 1-based positions in order.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(double v) { return check(sqlite3_bind_double(stmt_, ++n_, v)); }
  Statement& bind(std::int64_t v) { return check(sqlite3_bind_int64(stmt_, ++n_, v)); }
  Statement& bind(int v) { return bind(static_cast<std::int64_t>(v)); }
  Statement& bind(const std::string& v) {
    return check(sqlite3_bind_text(stmt_, ++n_, v.c_str(), int(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(std::optional<double> v) {
    if (v && std::isfinite(*v)) return bind(*v);
    return check(sqlite3_bind_null(stmt_, ++n_));
  }
  bool step() {  // true while rows come
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  void run() {
    while (step()) {
    }
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL)
      return std::numeric_limits<double>::quiet_NaN();
    return sqlite3_column_double(stmt_, col);
  }
  bool null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* t = sqlite3_column_text(stmt_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) fail("bind");
    return *this;
  }
  [[noreturn]] void fail(const char* what) const {
    hparam::fail(db_, what, sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int n_ = 0;
};

// job_id and source_trial last (see the constructor): a store made before
// Slurm jobs or progressive initialization existed reads them as 0.
constexpr const char* kTrialColumns =
    "id, stage, stage_name, idx, params, fidelity, budget_epochs, status, objective, epochs_done, "
    "reason, attempts, command, pid, started_at, finished_at, wall_s, "
    "json_extract(summary, '$.test_accuracy')";

TrialRecord read_trial(const Statement& s) {
  TrialRecord t;
  t.id = s.integer(0);
  t.stage = int(s.integer(1));
  t.stage_name = s.text(2);
  t.index = int(s.integer(3));
  t.params = json::parse(s.text(4));
  t.fidelity = json::parse(s.text(5));
  t.budget_epochs = s.real(6);
  t.status = status_from(s.text(7));
  if (!s.null(8)) t.objective = s.real(8);
  t.epochs_done = s.real(9);
  t.reason = s.text(10);
  t.attempts = int(s.integer(11));
  t.command = s.text(12);
  t.pid = s.integer(13);
  t.started_at = s.real(14);
  t.finished_at = s.real(15);
  t.wall_s = s.real(16);
  if (!s.null(17)) t.test_accuracy = s.real(17);
  t.job_id = s.integer(18);
  t.source_trial = s.integer(19);
  return t;
}

bool has_column(sqlite3* db, const char* name) {
  Statement s(db, "SELECT COUNT(*) FROM pragma_table_info('trials') WHERE name = ?");
  s.bind(std::string(name)).step();
  return s.integer(0) > 0;
}

// A column added after stores were first written, with its default.
constexpr const char* kLaterColumns[] = {"job_id", "source_trial"};

sqlite3* open_db(const std::filesystem::path& file, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw InputError(file.string() + ": cannot open the trial store: " + message);
  }
  sqlite3_busy_timeout(db, 10000);  // a concurrent `status` may hold a read lock briefly
  return db;
}

}  // namespace

std::string to_string(Status s) {
  switch (s) {
    case Status::pending:
      return "pending";
    case Status::running:
      return "running";
    case Status::done:
      return "done";
    case Status::pruned:
      return "pruned";
    case Status::failed:
      return "failed";
  }
  return "?";
}

Status status_from(const std::string& text) {
  for (Status s :
       {Status::pending, Status::running, Status::done, Status::pruned, Status::failed}) {
    if (to_string(s) == text) return s;
  }
  throw std::runtime_error("trial store: unknown status \"" + text + "\"");
}

bool finished(Status s) { return s == Status::done || s == Status::pruned || s == Status::failed; }

void TrialStore::create(const std::filesystem::path& file, const json& sweep) {
  const auto tmp = std::filesystem::path(file.string() + ".tmp");
  std::filesystem::remove(tmp);
  sqlite3* db = open_db(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  char* error = nullptr;
  const std::string sql = std::string(kSchema);
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    const std::string dumped = sweep.dump();
    sqlite3_prepare_v2(db, "INSERT INTO meta VALUES ('sweep', ?)", -1, &stmt, nullptr);
    sqlite3_bind_text(stmt, 1, dumped.c_str(), int(dumped.size()), SQLITE_TRANSIENT);
    rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_finalize(stmt);
  }
  const std::string message = error ? error : sqlite3_errmsg(db);
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(tmp.string() + ": " + message);
  std::filesystem::rename(tmp, file);
}

TrialStore::TrialStore(const std::filesystem::path& file, bool read_only) {
  if (!std::filesystem::exists(file)) throw InputError(file.string() + ": no trial store here");
  db_ = open_db(file, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
  try {
    if (!read_only) {
      // WAL: a commit is one append, and readers (hparam-sweep status) never block the sweep.
      exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
      add_missing_columns();
    }
    columns_ = kTrialColumns;
    for (const char* column : kLaterColumns)
      columns_ += has_column(db_, column) ? std::string(", ") + column : ", 0";
  } catch (...) {
    // No destructor runs for a constructor that throws (a file that is not
    // a database throws here), so the connection is closed by hand.
    sqlite3_close(db_);
    throw;
  }
}

TrialStore::~TrialStore() { sqlite3_close(db_); }

// A store made before Slurm jobs (or progressive initialization) existed
// gains their columns when a sweep opens it for writing.
void TrialStore::add_missing_columns() {
  for (const char* column : kLaterColumns) {
    if (!has_column(db_, column))
      exec(std::string("ALTER TABLE trials ADD COLUMN ") + column + " INTEGER NOT NULL DEFAULT 0");
  }
}

void TrialStore::exec(const std::string& sql) const {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string message = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    fail(db_, "exec", rc, message);
  }
}

json TrialStore::sweep() const {
  Statement s(db_, "SELECT value FROM meta WHERE key = 'sweep'");
  if (!s.step())
    throw InputError(std::string(sqlite3_db_filename(db_, "main")) +
                     ": no sweep in its meta table");
  return json::parse(s.text(0));
}

bool TrialStore::stage_generated(int stage) const {
  Statement s(db_, "SELECT COUNT(*) FROM trials WHERE stage = ?");
  s.bind(stage).step();
  return s.integer(0) > 0;
}

void TrialStore::add_stage(int stage, const std::string& name, const std::vector<json>& params,
                           const json& fidelity, double budget_epochs,
                           const std::vector<std::int64_t>& sources) {
  exec("BEGIN IMMEDIATE");
  try {
    for (std::size_t i = 0; i < params.size(); ++i) {
      Statement s(
          db_,
          "INSERT INTO trials (stage, stage_name, idx, params, fidelity, budget_epochs, status, "
          "source_trial) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)");
      s.bind(stage)
          .bind(name)
          .bind(int(i))
          .bind(params[i].dump())
          .bind(fidelity.dump())
          .bind(budget_epochs)
          .bind(i < sources.size() ? sources[i] : std::int64_t{0})
          .run();
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

std::vector<TrialRecord> TrialStore::trials(std::optional<int> stage) const {
  Statement s(db_, "SELECT " + columns_ + " FROM trials" + (stage ? " WHERE stage = ?" : "") +
                       " ORDER BY stage, idx");
  if (stage) s.bind(*stage);
  std::vector<TrialRecord> out;
  while (s.step()) out.push_back(read_trial(s));
  return out;
}

TrialRecord TrialStore::trial(std::int64_t id) const {
  Statement s(db_, "SELECT " + columns_ + " FROM trials WHERE id = ?");
  s.bind(id);
  if (!s.step()) throw std::runtime_error("trial store: no trial " + std::to_string(id));
  return read_trial(s);
}

std::vector<TrialRecord> TrialStore::running_trials() const {
  std::vector<TrialRecord> running;
  for (TrialRecord& t : trials()) {
    if (t.status == Status::running) running.push_back(t);
  }
  return running;
}

std::vector<TrialRecord> TrialStore::reset_running(bool keep_jobs) {
  std::vector<TrialRecord> reset;
  for (const TrialRecord& t : running_trials()) {
    if (!(keep_jobs && t.job_id > 0)) reset.push_back(t);
  }
  // Evaluations up to epochs_done (a rung it paused at, with a checkpoint)
  // stay; the interrupted attempt's later ones go.
  const std::string which =
      std::string("status = 'running'") + (keep_jobs ? " AND job_id = 0" : "");
  exec(
      "BEGIN IMMEDIATE; DELETE FROM evals WHERE EXISTS (SELECT 1 FROM trials t WHERE "
      "t.id = evals.trial_id AND t." +
      which +
      " AND evals.epoch > t.epochs_done + 1e-9); "
      "UPDATE trials SET status = 'pending', pid = 0, job_id = 0, "
      "attempts = MAX(0, attempts - 1) WHERE " +
      which + "; COMMIT;");
  return reset;
}

std::vector<std::int64_t> TrialStore::retry_failed(int stage) {
  std::vector<std::int64_t> ids;
  for (const TrialRecord& t : trials(stage)) {
    if (t.status == Status::failed) ids.push_back(t.id);
  }
  exec("BEGIN IMMEDIATE");
  try {
    for (const std::int64_t id : ids) {
      Statement(db_, "DELETE FROM evals WHERE trial_id = ?").bind(id).run();
      Statement(db_,
                "UPDATE trials SET status = 'pending', objective = NULL, epochs_done = 0, "
                "reason = '', attempts = 0, pid = 0, job_id = 0, summary = '{}' WHERE id = ?")
          .bind(id)
          .run();
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
  return ids;
}

void TrialStore::mark_running(std::int64_t id, const std::string& command, std::int64_t pid,
                              std::int64_t job_id, double now) {
  exec("BEGIN IMMEDIATE");
  Statement(db_,
            "DELETE FROM evals WHERE trial_id = ? AND epoch > "
            "(SELECT epochs_done FROM trials WHERE id = ?) + 1e-9")
      .bind(id)
      .bind(id)
      .run();
  Statement(db_,
            "UPDATE trials SET status = 'running', command = ?, pid = ?, job_id = ?, "
            "started_at = ?, attempts = attempts + 1 WHERE id = ?")
      .bind(command)
      .bind(pid)
      .bind(job_id)
      .bind(now)
      .bind(id)
      .run();
  exec("COMMIT");
}

void TrialStore::retry(std::int64_t id, const std::string& reason, double wall_s) {
  Statement(db_,
            "UPDATE trials SET status = 'pending', reason = ?, wall_s = wall_s + ?, pid = 0, "
            "job_id = 0 WHERE id = ?")
      .bind(reason)
      .bind(wall_s)
      .bind(id)
      .run();
}

void TrialStore::pause(std::int64_t id, double value, double epochs_done, double wall_s) {
  exec("BEGIN IMMEDIATE");
  Statement(db_,
            "UPDATE trials SET status = 'pending', objective = ?, epochs_done = ?, "
            "wall_s = wall_s + ?, pid = 0, job_id = 0, attempts = 0 WHERE id = ?")
      .bind(std::optional<double>(value))
      .bind(epochs_done)
      .bind(wall_s)
      .bind(id)
      .run();
  exec("COMMIT");
}

void TrialStore::finish(std::int64_t id, Status status, std::optional<double> objective,
                        double epochs_done, const std::string& reason, double wall_s, double now,
                        const json& summary) {
  Statement(db_,
            "UPDATE trials SET status = ?, objective = ?, epochs_done = ?, reason = ?, "
            "wall_s = wall_s + ?, finished_at = ?, summary = ?, pid = 0, job_id = 0 WHERE id = ?")
      .bind(to_string(status))
      .bind(objective)
      .bind(epochs_done)
      .bind(reason)
      .bind(wall_s)
      .bind(now)
      .bind(summary.dump())
      .bind(id)
      .run();
}

void TrialStore::add_eval(std::int64_t id, double epoch, double value, const json& record) {
  Statement(db_, "INSERT OR REPLACE INTO evals VALUES (?, ?, ?, ?)")
      .bind(id)
      .bind(epoch)
      .bind(std::optional<double>(value))
      .bind(record.dump())
      .run();
}

std::vector<EvalRecord> TrialStore::evals() const {
  Statement s(db_, "SELECT trial_id, epoch, value FROM evals ORDER BY trial_id, epoch");
  std::vector<EvalRecord> out;
  while (s.step()) out.push_back({s.integer(0), s.real(1), s.real(2)});
  return out;
}

std::vector<double> TrialStore::rung_values(int stage, double rung) const {
  std::vector<double> out;
  for (const RungValue& v : rung_values_by_trial(stage, rung)) out.push_back(v.value);
  return out;
}

std::vector<RungValue> TrialStore::rung_values_by_trial(int stage, double rung) const {
  Statement s(db_,
              "SELECT e.trial_id, e.value FROM evals e JOIN trials t ON t.id = e.trial_id "
              "WHERE t.stage = ? AND e.epoch = (SELECT MIN(epoch) FROM "
              "evals WHERE trial_id = e.trial_id AND epoch >= ?) ORDER BY e.trial_id");
  s.bind(stage).bind(rung - 1e-9);
  std::vector<RungValue> out;
  while (s.step()) out.push_back({s.integer(0), s.real(1)});
  return out;
}

void TrialStore::set_estimate(const Estimate& e) {
  Statement(db_, "INSERT OR REPLACE INTO estimates VALUES (?, ?, ?, ?, ?)")
      .bind(e.trial_id)
      .bind(e.gpus)
      .bind(e.time_to_train_s)
      .bind(e.images_per_s)
      .bind(e.efficiency)
      .run();
}

std::vector<Estimate> TrialStore::estimates() const {
  Statement s(db_,
              "SELECT trial_id, gpus, time_to_train_s, images_per_s, efficiency FROM estimates "
              "ORDER BY trial_id");
  std::vector<Estimate> out;
  while (s.step())
    out.push_back({s.integer(0), int(s.integer(1)), s.real(2), s.real(3), s.real(4)});
  return out;
}

}  // namespace lb::hparam
