"""Classifiers written by hand with NumPy, to compare against scikit-learn's own."""

from unseen.ml.manual._forest import RandomForestClassifier
from unseen.ml.manual._logistic import LogisticRegression
from unseen.ml.manual._tree import DecisionTreeClassifier

__all__ = ["DecisionTreeClassifier", "LogisticRegression", "RandomForestClassifier"]
