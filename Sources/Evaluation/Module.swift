// Module Evaluation: see README "Evaluation".
