"""What ``leadroute demo`` needs: synthetic leads and servers a newcomer does not have to install."""
