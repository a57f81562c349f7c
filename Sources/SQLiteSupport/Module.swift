// Module SQLiteSupport: see README "Architecture".
