"""ament_python package definition; installs with colcon (ROS 2) or pip (ROS 2 from PyPI)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "av_edge"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    package_data={PACKAGE: ["models/*/model.onnx", "models/*/manifest.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (
            f"share/{PACKAGE}/config",
            glob("config/*.yaml") + glob("config/*.xml") + glob("config/*.rviz") + glob("config/*.json"),
        ),
        (f"share/{PACKAGE}/config/scenarios", glob("config/scenarios/*.yaml")),
        (f"share/{PACKAGE}/config/scenarios/families", glob("config/scenarios/families/*.yaml")),
        (f"share/{PACKAGE}/deploy/systemd", glob("deploy/systemd/*")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="av_edge maintainers",
    maintainer_email="av-edge@example.com",
    description="Edge inference and emergency braking for automated vehicles.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "aeb_node = av_edge.nodes.aeb_node:main",
            "perception_node = av_edge.nodes.perception_node:main",
            "simulator_node = av_edge.nodes.simulator_node:main",
            "clip_recorder_node = av_edge.nodes.clip_recorder_node:main",
            "planner_node = av_edge.nodes.planner_node:main",
            "adapter_node = av_edge.nodes.adapter_node:main",
            "model_updater_node = av_edge.nodes.model_updater_node:main",
            "av-edge = av_edge.cli:main",
        ],
    },
)
