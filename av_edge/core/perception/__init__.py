"""LiDAR perception: ground segmentation, clustering, oriented boxes, tracking (pure numpy/scipy/OpenCV)."""
