// Module Pipeline: see README "Architecture".
