#!/bin/sh
echo "integration: not yet"
