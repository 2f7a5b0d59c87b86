"""Camera object detection, pure parts: model package manifest, pre/post-processing, evaluation."""
