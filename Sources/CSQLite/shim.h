#include <sqlite3.h>

/// sqlite3_config is variadic, which Swift cannot call: these wrappers make the one call each.

/// Turns off SQLite's global memory statistics, whose mutex every allocation otherwise takes.
/// Must run before the first connection opens.
static inline int vigil_sqlite3_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
