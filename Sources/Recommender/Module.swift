// Module Recommender: see README "Architecture".
