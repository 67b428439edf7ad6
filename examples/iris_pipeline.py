"""A small but real ML pipeline: the iris data set that ships with scikit-learn, two models
trained side by side (a fan-out), the better one picked on held-out data (a fan-in).

Each step is a separate SageMaker processing job (on the emulator: a separate local process);
the artifacts between them travel through the stack's S3 bucket. The training steps ask for a
bigger instance than the rest, to show per-step settings.

Nothing here is about images: ZenML builds the pipeline's image on the stack's CodeBuild project,
on top of the stack's base image, with the `sklearn` integration that `iris_pipeline.yaml` asks
for (ZenML's ordinary run configuration). No Docker is needed on this machine.
"""

from pathlib import Path
from typing import Annotated

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier
from zenml import pipeline, step

from sagemaker_stack.flavor import SagemakerPipelinesOrchestratorSettings

#: The run configuration: the ZenML integrations (and so the packages) the steps need.
CONFIG = Path(__file__).with_suffix(".yaml")

TRAINING = {"orchestrator": SagemakerPipelinesOrchestratorSettings(instance_type="ml.m5.large")}


@step
def load_data() -> Annotated[pd.DataFrame, "iris"]:
    """The 150-row iris table, features plus the `target` column."""
    frame: pd.DataFrame = load_iris(as_frame=True).frame
    return frame


@step
def split_data(
    iris: pd.DataFrame, test_size: float = 0.3
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    """A stratified split, fixed seed, so reruns compare like with like."""
    train, test = train_test_split(iris, test_size=test_size, random_state=42, stratify=iris["target"])
    return train, test


@step(settings=TRAINING)
def train_logistic_regression(train: pd.DataFrame) -> Annotated[BaseEstimator, "logistic_regression"]:
    """A linear baseline."""
    model = LogisticRegression(max_iter=500)
    return model.fit(train.drop(columns="target"), train["target"])


@step(settings=TRAINING)
def train_decision_tree(train: pd.DataFrame) -> Annotated[BaseEstimator, "decision_tree"]:
    """A non-linear contender."""
    model = DecisionTreeClassifier(max_depth=3, random_state=42)
    return model.fit(train.drop(columns="target"), train["target"])


@step
def evaluate(
    test: pd.DataFrame, logistic_regression: BaseEstimator, decision_tree: BaseEstimator
) -> Annotated[dict[str, float], "accuracy"]:
    """Accuracy of both models on the held-out rows; the demo prints the best."""
    features, labels = test.drop(columns="target"), test["target"]
    scores = {
        "logistic_regression": float(logistic_regression.score(features, labels)),
        "decision_tree": float(decision_tree.score(features, labels)),
    }
    best = max(scores, key=scores.__getitem__)
    print(f"best model: {best} (accuracy {scores[best]:.3f})")
    return scores


@pipeline(enable_cache=False)
def iris_pipeline() -> None:
    """load -> split -> (logistic regression | decision tree) -> evaluate."""
    iris = load_data()
    train, test = split_data(iris)
    evaluate(test, train_logistic_regression(train), train_decision_tree(train))


if __name__ == "__main__":
    iris_pipeline.with_options(config_path=str(CONFIG))()
