"""Any OpenAI-compatible chat-completions endpoint, with function calling (``client``): the
patient assistant's optional language model."""
