"""Process plumbing without ROS: worker threads whose failures surface."""
