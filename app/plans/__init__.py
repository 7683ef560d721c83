"""Monthly inspection plans: assisted generation, 双随机 draw, review process, execution warnings."""
