"""Stage 1, data: the 1D/2D scale-detection tasks and the image data sets, registered by kind."""
