// SQLite's process-wide configuration, which Swift cannot call directly: `sqlite3_config` is variadic.
// Declared here rather than through <sqlite3.h>, whose types GRDB's own SQLite module already brings.
int sqlite3_config(int option, ...);

/// Turns SQLite's memory statistics on or off for the whole process (`SQLITE_CONFIG_MEMSTATUS`, option 9 of
/// SQLite's stable C interface). Off, every allocation SQLite makes skips a global mutex. Takes effect only
/// before SQLite initializes (the first connection opens); returns SQLITE_OK (0) or SQLITE_MISUSE (21) after.
static inline int outpost_sqlite_memory_statistics(int on) { return sqlite3_config(9, on); }
