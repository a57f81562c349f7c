// Module Imaging: see README "Architecture".
