#include <sqlite3.h>

/// sqlite3_config is variadic, which Swift cannot call. Turning memory statistics
/// off removes a global mutex from every SQLite allocation. Must run before the first
/// connection opens; returns SQLITE_MISUSE afterwards (harmless).
static inline int lookbook_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
