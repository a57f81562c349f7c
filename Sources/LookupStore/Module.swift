// Module LookupStore: see README "Architecture".
